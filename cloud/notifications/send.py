"""Notifying one user, from any domain operation, inside its transaction."""

from __future__ import annotations

from typing import Any

from cloud.realtime.hub import Audience
from cloud.storage.tables import notifications
from cloud.tx import Tx
from kywash.clock import iso

PUSH_BODY_MAX = 1000
"""Characters of the body a web push carries (push services take about 4 KB, encrypted)."""


def notify(tx: Tx, user_id: int, type: str, title: str, body: str, data: dict[str, Any] | None = None) -> int:
    """Store a notification (``type`` e.g. ``cycle_finished``) and send it to that user's clients
    (live ones after commit, and their browsers through web push)."""
    values = {
        "user_id": user_id,
        "type": type,
        "title": title,
        "body": body,
        "data": data or {},
        "created_at": tx.now,
    }
    notification_id = int(
        tx.conn.execute(notifications.insert().values(**values).returning(notifications.c.id)).scalar_one()
    )
    message = {
        "type": "notification",
        "notification": {
            "id": notification_id,
            "type": type,
            "title": title,
            "body": body,
            "data": values["data"],
            "created_at": iso(tx.now),
            "read": False,
        },
    }
    tx.changes.send(message, Audience.of_user(user_id))
    if tx.settings.web_push:
        payload = {"id": notification_id, "type": type, "title": title, "body": body[:PUSH_BODY_MAX]}
        tx.changes.push(user_id, {**payload, "data": values["data"], "url": "/"})
    return notification_id


def notify_staff(tx: Tx, type: str, title: str, body: str, data: dict[str, Any] | None = None) -> list[int]:
    """Notify every staff account (for example: a machine was taken out of service)."""
    from sqlalchemy import select

    from cloud.storage.tables import users

    staff_ids = tx.conn.execute(select(users.c.id).where(users.c.role == "staff")).scalars().all()
    return [notify(tx, int(user_id), type, title, body, data) for user_id in staff_ids]
