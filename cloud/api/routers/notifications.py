"""``/api/v1/notifications``: the signed-in user's own notifications (nobody sees anyone else's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from cloud.api.auth import CurrentUser
from cloud.api.deps import PageDep, ReadConnDep, TxDep
from cloud.domain.notifications import inbox
from cloud.domain.notifications.schemas import NotificationPublic, NotificationsPage, ReadAllResult

router = APIRouter(prefix="/api/v1", tags=["notifications"])

NotificationId = Annotated[int, Path(ge=1)]


@router.get("/notifications/", response_model=NotificationsPage)
def list_notifications(
    viewer: CurrentUser,
    conn: ReadConnDep,
    page: PageDep,
    unread: Annotated[bool, Query(description="true: only unread ones")] = False,
) -> NotificationsPage:
    """Newest first, with ``unread_count`` for the badge (counted over all of them, not this page)."""
    return inbox.list_notifications(conn, viewer.id, page, unread_only=unread)


@router.post("/notifications/read-all", response_model=ReadAllResult)
def mark_all_read(viewer: CurrentUser, tx: TxDep) -> ReadAllResult:
    """The page's "mark all read"."""
    return ReadAllResult(updated=inbox.mark_all_read(tx, viewer.id))


@router.put("/notifications/{notification_id}/read", response_model=NotificationPublic)
def mark_read(viewer: CurrentUser, tx: TxDep, notification_id: NotificationId) -> NotificationPublic:
    """Mark one read; doing it again changes nothing. Someone else's id answers 404."""
    return inbox.mark_read(tx, viewer.id, notification_id)


@router.delete("/notifications/{notification_id}", status_code=204, response_class=Response)
def delete_notification(viewer: CurrentUser, tx: TxDep, notification_id: NotificationId) -> Response:
    """Remove one; someone else's id answers 404."""
    inbox.delete_notification(tx, viewer.id, notification_id)
    return Response(status_code=204)
