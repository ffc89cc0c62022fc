"""``/api/v1/activities``: the activity log — a student's own history, everyone's for staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from cloud.api.auth import CurrentUser, Reader
from cloud.api.deps import PageDep, ReadConnDep
from cloud.domain.accounts.users import get_user
from cloud.domain.activity import feed
from cloud.domain.activity.feed import ActivityFilter
from cloud.domain.activity.schemas import ActivitiesPage
from cloud.platform.errors import NotFound
from cloud.platform.texts import text

router = APIRouter(prefix="/api/v1", tags=["activity"])

TypeQuery = Annotated[str | None, Query(alias="type", max_length=40, description="only this type, e.g. claim_created")]


def visible_user_id(viewer: CurrentUser, conn: ReadConnDep, user_id: Annotated[int, Path(ge=1)]) -> int:
    """The user whose log is asked for, if the viewer may read it: their own, or anyone's for staff.

    Another student's id is "not found", exactly like an id that does not exist, so the
    answer does not reveal which ids are taken.
    """
    if user_id == viewer.id or (viewer.is_staff and get_user(conn, user_id) is not None):
        return user_id
    raise NotFound(text("error.activity.no_such_user"), code="user_not_found")


@router.get("/activities/", response_model=ActivitiesPage)
def list_activities(
    viewer: Reader,
    conn: ReadConnDep,
    page: PageDep,
    activity_type: TypeQuery = None,
    site: Annotated[str | None, Query(max_length=63)] = None,
    room: Annotated[str | None, Query(max_length=63)] = None,
) -> ActivitiesPage:
    """Newest first: a student's own entries; staff see everyone's (``?site=&room=`` narrow it to a room)."""
    return feed.list_activities(conn, viewer, page, ActivityFilter(None, site, room, activity_type))


@router.get("/activities/user/{user_id}", response_model=ActivitiesPage)
def list_user_activities(
    viewer: Reader,
    conn: ReadConnDep,
    page: PageDep,
    user_id: Annotated[int, Depends(visible_user_id)],
    activity_type: TypeQuery = None,
) -> ActivitiesPage:
    """One user's entries: your own, or (staff) anyone's; another student's id answers 404."""
    return feed.list_activities(conn, viewer, page, ActivityFilter(user_id, type=activity_type))
