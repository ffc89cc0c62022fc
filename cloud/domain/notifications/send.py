"""Notifying one user, from any domain operation, inside its transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cloud.domain.notifications.schemas import LiveNotification, NotificationMessage
from cloud.domain.notifications.texts import Text, render
from cloud.platform.hub import Audience
from cloud.platform.languages import language_or_default
from cloud.platform.storage.tables import notifications, users
from cloud.platform.unit_of_work import Tx

PUSH_BODY_MAX = 1000
"""Characters of the body a web push carries (push services take about 4 KB, encrypted)."""


def notify(
    tx: Tx, user_id: int, type: str, title: Text | str, body: Text | str, data: dict[str, Any] | None = None
) -> int:
    """Store a notification (``type`` e.g. ``cycle_finished``) and send it to that user's clients
    (live ones after commit, and their browsers through web push), its title and body in the
    user's language (``users.language``, else English): stored, live and pushed alike."""
    language = language_or_default(
        tx.conn.execute(select(users.c.language).where(users.c.id == user_id)).scalar_one_or_none()
    )
    title, body = render(title, language), render(body, language)
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
    stored = LiveNotification(id=notification_id, type=type, title=title, body=body, data=data or {}, created_at=tx.now)
    tx.changes.send(NotificationMessage(notification=stored).model_dump(mode="json"), Audience.of_user(user_id))
    if tx.settings.web_push:
        payload = {"id": notification_id, "type": type, "title": title, "body": body[:PUSH_BODY_MAX]}
        tx.changes.push(user_id, {**payload, "data": values["data"], "url": "/"})
    return notification_id


def notify_staff(
    tx: Tx, type: str, title: Text | str, body: Text | str, data: dict[str, Any] | None = None
) -> list[int]:
    """Notify every staff account (for example: a machine was taken out of service)."""
    staff_ids = tx.conn.execute(select(users.c.id).where(users.c.role == "staff")).scalars().all()
    return [notify(tx, int(user_id), type, title, body, data) for user_id in staff_ids]
