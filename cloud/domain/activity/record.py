"""Writing the activity log, from any domain operation, inside its transaction."""

from __future__ import annotations

from typing import Any

from cloud.domain.activity.schemas import ActivityMessage, LiveActivity
from cloud.platform.hub import Audience
from cloud.platform.storage.tables import activities
from cloud.platform.unit_of_work import Tx


def record_activity(
    tx: Tx,
    type: str,
    message: str,
    *,
    room_id: int | None = None,
    user_id: int | None = None,
    machine_pk: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Add one entry (``type`` e.g. ``claim_created``); its user and staff hear of it live."""
    values = {
        "room_id": room_id,
        "user_id": user_id,
        "machine_pk": machine_pk,
        "type": type,
        "message": message,
        "data": data or {},
        "created_at": tx.now,
    }
    activity_id = int(tx.conn.execute(activities.insert().values(**values).returning(activities.c.id)).scalar_one())
    entry = LiveActivity(
        id=activity_id, type=type, message=message, user_id=user_id, data=data or {}, created_at=tx.now
    )
    live = ActivityMessage(activity=entry).model_dump(mode="json")  # once: the user and staff get the same dict
    if user_id is not None:
        tx.changes.send(live, Audience.of_user(user_id))
    tx.changes.send(live, Audience.of_staff())
    return activity_id
