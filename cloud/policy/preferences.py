"""A student's profile changes that reach beyond the account: a new lead time for the alert
before the end moves the stored deadline of each active claim of theirs at once."""

from __future__ import annotations

from cloud.domain.accounts import access
from cloud.domain.accounts.schemas import ProfilePublic, ProfileUpdate
from cloud.domain.machines import end_alert
from cloud.platform.unit_of_work import Tx
from cloud.platform.viewer import Viewer


def update_profile(tx: Tx, viewer: Viewer, body: ProfileUpdate) -> ProfilePublic:
    updated = access.update_profile(tx, viewer, body.phone_number, body.alert_before_minutes, body.language)
    if body.alert_before_minutes is not None:
        end_alert.schedule_for_user(tx, viewer.id)
    return updated
