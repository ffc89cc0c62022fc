"""Writing the activity log, from any domain operation, inside its transaction.

An entry's message is a catalog ``Text``: its key and parameters are stored with it (under
``data["text"]``, see ``feed.py``) so each reader gets it in their language; the ``message``
column keeps the English sentence for old clients and staff tools."""

from __future__ import annotations

from typing import Any

from cloud.domain.activity.schemas import ActivityMessage, LiveActivity
from cloud.platform.hub import Audience, Message, localized
from cloud.platform.languages import DEFAULT
from cloud.platform.storage.tables import activities
from cloud.platform.texts import Text, in_every_language, to_data
from cloud.platform.unit_of_work import Tx

TEXT_KEY = "text"
"""Where an entry's catalog text is kept in ``data`` (never shown: readers get it rendered)."""


def record_activity(
    tx: Tx,
    type: str,
    message: Text | str,
    *,
    room_id: int | None = None,
    user_id: int | None = None,
    machine_pk: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Add one entry (``type`` e.g. ``claim_created``); its user and staff hear of it live,
    each in their language."""
    shown = in_every_language(message)
    stored = dict(data or {})
    if isinstance(message, Text):
        stored[TEXT_KEY] = to_data(message)
    values = {
        "room_id": room_id,
        "user_id": user_id,
        "machine_pk": machine_pk,
        "type": type,
        "message": shown[DEFAULT],
        "data": stored,
        "created_at": tx.now,
    }
    activity_id = int(tx.conn.execute(activities.insert().values(**values).returning(activities.c.id)).scalar_one())
    variants: dict[str, Message] = {
        language: ActivityMessage(
            activity=LiveActivity(
                id=activity_id, type=type, message=words, user_id=user_id, data=data or {}, created_at=tx.now
            )
        ).model_dump(mode="json")
        for language, words in shown.items()
    }  # once per language: the user and staff get the same dicts
    live = localized(variants[DEFAULT], variants)
    if user_id is not None:
        tx.changes.send(live, Audience.of_user(user_id))
    tx.changes.send(live, Audience.of_staff())
    return activity_id
