"""A user's notifications: list, mark read, delete — always scoped to their owner.

Every query names the owner, so someone else's notification is simply not found (404),
never forbidden: the answer does not reveal that the id exists. Creating notifications
happens in ``send.py``, inside the domain operation that causes them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from cloud.domain.notifications.schemas import NotificationPublic, NotificationsPage
from cloud.platform.errors import NotFound
from cloud.platform.pagination import AnyRow, PageRequest, fetch_page
from cloud.platform.storage.tables import notifications
from cloud.platform.texts import text
from cloud.platform.unit_of_work import Tx

_COLUMNS = (
    notifications.c.id,
    notifications.c.type,
    notifications.c.title,
    notifications.c.body,
    notifications.c.data,
    notifications.c.created_at,
    notifications.c.read_at,
)


def list_notifications(conn: Connection, user_id: int, page: PageRequest, *, unread_only: bool) -> NotificationsPage:
    """A page of ``user_id``'s notifications, newest first, with their total unread count."""
    query = select(*_COLUMNS).where(notifications.c.user_id == user_id)
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    found = fetch_page(conn, query, notifications.c.id, page, _public)
    return NotificationsPage(items=found.items, next_before=found.next_before, unread_count=unread_count(conn, user_id))


def unread_count(conn: Connection, user_id: int) -> int:
    query = select(func.count()).where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
    return int(conn.execute(query).scalar_one())


def mark_read(tx: Tx, user_id: int, notification_id: int) -> NotificationPublic:
    """Mark one notification read (idempotent: an already read one keeps its ``read_at``)."""
    tx.conn.execute(
        update(notifications)
        .where(_owned(user_id, notification_id), notifications.c.read_at.is_(None))
        .values(read_at=tx.now)
    )
    row = tx.conn.execute(select(*_COLUMNS).where(_owned(user_id, notification_id))).first()
    if row is None:
        raise NotFound(text("error.notification.no_such_notification"), code="notification_not_found")
    return _public(row)


def mark_all_read(tx: Tx, user_id: int) -> int:
    """Mark every unread notification of ``user_id`` read; how many there were."""
    result = tx.conn.execute(
        update(notifications)
        .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
        .values(read_at=tx.now)
    )
    return int(result.rowcount)


def delete_notification(tx: Tx, user_id: int, notification_id: int) -> None:
    result = tx.conn.execute(delete(notifications).where(_owned(user_id, notification_id)))
    if result.rowcount == 0:
        raise NotFound(text("error.notification.no_such_notification"), code="notification_not_found")


def _owned(user_id: int, notification_id: int) -> Any:
    return (notifications.c.id == notification_id) & (notifications.c.user_id == user_id)


def _public(row: AnyRow) -> NotificationPublic:
    return NotificationPublic(
        id=row.id,
        type=row.type,
        title=row.title,
        body=row.body,
        data=row.data or {},
        created_at=row.created_at,
        read=row.read_at is not None,
        read_at=row.read_at,
    )
