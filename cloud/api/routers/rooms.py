"""``/api/v1/rooms/...``: each room's edge and its event audit (staff), and its busy hours (anyone).

``GET /api/v1/rooms`` itself (the public list) lives with the machines, in cloud/api/routers/machines.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from cloud.api.auth import StaffUser
from cloud.api.deps import ReadConnDep, StateDep
from cloud.domain.rooms import edges, events, history
from cloud.domain.rooms.schemas import BusyHoursPublic, RoomEdgePublic, RoomEventsPublic
from kywash.clock import to_datetime

router = APIRouter(prefix="/api/v1", tags=["rooms"])

MAX_EVENTS = 1000
MAX_WEEKS = 52
RoomName = Annotated[str, Path(min_length=1, max_length=63)]
SiteQuery = Annotated[str | None, Query(min_length=1, max_length=63, description="needed when the room name repeats")]


@router.get("/rooms/status", response_model=list[RoomEdgePublic])
def list_room_edges(
    staff: StaffUser,
    conn: ReadConnDep,
    site: Annotated[str | None, Query(min_length=1, max_length=63, description="only this site's rooms")] = None,
) -> list[RoomEdgePublic]:
    """Every room's edge: online, offline or unknown and since when, last heard, its boot id and
    agent version, its machines (out of service, open faults), and its event sequence with
    open gaps and replay requests — the first place a technician looks after an outage. Staff only."""
    return edges.room_edges(conn, site)


@router.get("/rooms/{room}/busy-hours", response_model=BusyHoursPublic)
def get_busy_hours(
    state: StateDep,
    conn: ReadConnDep,
    room: RoomName,
    site: SiteQuery = None,
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS, description="how many weeks of history")] = 8,
) -> BusyHoursPublic:
    """How full the room usually is, per weekday (0 = Monday) and local hour (``KYWASH_TIMEZONE``):
    the average share of its washers, dryers and all machines that were busy over the last
    ``weeks`` weeks (or since the room's history begins, if it is newer), and the quietest
    of the next 24 hours. Public, like the machine list; an answer may be up to 5 minutes old."""
    record = events.find_room(conn, room, site)
    now_ts = state.clock.now()
    key = (record.id, weeks)
    answer = state.busy_hours.get(key, now_ts)
    if answer is None:
        answer = history.busy_hours(conn, record, weeks=weeks, tz_name=state.settings.timezone, now=to_datetime(now_ts))
        state.busy_hours.put(key, now_ts, answer)
    return answer


@router.get("/rooms/{room}/events", response_model=RoomEventsPublic)
def list_room_events(
    staff: StaffUser,
    conn: ReadConnDep,
    room: RoomName,
    site: SiteQuery = None,
    after: Annotated[int, Query(ge=0, description="only events with a larger seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS, description="events per page")] = 100,
    epoch: Annotated[int | None, Query(ge=0, description="an earlier epoch (default: the current one)")] = None,
) -> RoomEventsPublic:
    """The events the cloud applied for a room, in seq order after ``after``, with the room's
    contiguous seq, its open gaps ``[[from, to], ...]`` and when a replay was last asked for:
    what a technician reads to audit a room after an outage. Staff only."""
    record = events.find_room(conn, room, site)
    return events.room_events(conn, record, after=after, limit=limit, epoch=epoch)
