"""Reading the activity log: one query, narrowed to what the viewer may see.

Students see only their own entries; staff see everyone's, with whose they are. Writing
happens in ``record.py``, inside whatever domain operation the entry describes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from cloud.domain.activity.record import TEXT_KEY
from cloud.domain.activity.schemas import ActivitiesPage, ActivityPublic
from cloud.platform.languages import language_or_default
from cloud.platform.pagination import AnyRow, AnySelect, PageRequest, fetch_page
from cloud.platform.storage.tables import activities, machines, rooms, users
from cloud.platform.texts import from_data, render
from cloud.platform.viewer import Viewer


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """What a list is narrowed to; None means "any"."""

    user_id: int | None = None
    site: str | None = None
    room: str | None = None
    type: str | None = None


def list_activities(conn: Connection, viewer: Viewer, page: PageRequest, where: ActivityFilter) -> ActivitiesPage:
    """A page of the log, newest first; a student's list is always their own, whatever ``where`` says."""
    if not viewer.is_staff:
        where = ActivityFilter(viewer.id, where.site, where.room, where.type)
    query = _filtered(_base_query(), where)

    def to_item(row: AnyRow) -> ActivityPublic:
        return _public(row, show_user=viewer.is_staff, language=viewer.language)

    found = fetch_page(conn, query, activities.c.id, page, to_item)
    return ActivitiesPage(items=found.items, next_before=found.next_before)


def _base_query() -> AnySelect:
    joined = (
        activities.outerjoin(users, users.c.id == activities.c.user_id)
        .outerjoin(rooms, rooms.c.id == activities.c.room_id)
        .outerjoin(machines, machines.c.id == activities.c.machine_pk)
    )
    return select(
        activities.c.id,
        activities.c.type,
        activities.c.message,
        activities.c.user_id,
        activities.c.data,
        activities.c.created_at,
        users.c.student_id,
        users.c.username,
        rooms.c.site,
        rooms.c.room,
        machines.c.machine_id,
    ).select_from(joined)


def _filtered(query: AnySelect, where: ActivityFilter) -> AnySelect:
    if where.user_id is not None:
        query = query.where(activities.c.user_id == where.user_id)
    if where.site is not None:
        query = query.where(rooms.c.site == where.site)
    if where.room is not None:
        query = query.where(rooms.c.room == where.room)
    if where.type is not None:
        query = query.where(activities.c.type == where.type)
    return query


def _public(row: AnyRow, *, show_user: bool, language: str | None) -> ActivityPublic:
    """The entry as ``language``'s reader sees it: its text rendered in it (an old row without
    one keeps the sentence it was stored with)."""
    data = dict(row.data or {})
    stored = from_data(data.pop(TEXT_KEY, None))
    message = render(stored, language_or_default(language)) if stored is not None else row.message
    return ActivityPublic(
        id=row.id,
        type=row.type,
        message=message,
        user_id=row.user_id,
        user=(row.student_id or row.username) if show_user else None,
        room=f"{row.site}/{row.room}" if row.site is not None else None,
        machine=row.machine_id,
        data=data,
        created_at=row.created_at,
    )
