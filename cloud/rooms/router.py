"""``/api/v1/rooms/{room}/events``: a room's applied edge events and sequence gaps (staff only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from cloud.accounts.current import StaffUser
from cloud.rooms import service
from cloud.rooms.schemas import RoomEventsPublic
from cloud.tx import ReadConnDep

router = APIRouter(prefix="/api/v1", tags=["rooms"])

MAX_EVENTS = 1000


@router.get("/rooms/{room}/events", response_model=RoomEventsPublic)
def list_room_events(
    staff: StaffUser,
    conn: ReadConnDep,
    room: Annotated[str, Path(min_length=1, max_length=63)],
    site: Annotated[
        str | None, Query(min_length=1, max_length=63, description="needed when the room name repeats")
    ] = None,
    after: Annotated[int, Query(ge=0, description="only events with a larger seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS, description="events per page")] = 100,
    epoch: Annotated[int | None, Query(ge=0, description="an earlier epoch (default: the current one)")] = None,
) -> RoomEventsPublic:
    """The events the cloud applied for a room, in seq order after ``after``, with the room's
    contiguous seq, its open gaps ``[[from, to], ...]`` and when a replay was last asked for:
    what a technician reads to audit a room after an outage. Staff only."""
    record = service.find_room(conn, room, site)
    return service.room_events(conn, record, after=after, limit=limit, epoch=epoch)
