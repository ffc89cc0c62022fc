"""``busy-hours``: read a room's cycle history from ``edge_events`` and shape the answer.

The arithmetic is in ``cloud/domain/rooms/busy_hours.py``; this module only reads what it needs:
the room's machines, when its history begins, and the cycle start/end events of the window
(plus one longest cycle before it, for a cycle already running when the window opens).
The query walks ``ix_edge_events_machine_ts`` (room, machine, ts) machine by machine.

The window is the last ``weeks`` weeks up to now, but starts no earlier than the room's
history: the earlier of when the cloud registered the room and its first stored event.
So a room newer than the window is averaged over the weeks it has existed. Hours the
edge was offline count as quiet (the cloud cannot tell them from an idle room).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from cloud.domain.rooms.busy_hours import (
    CYCLE_EVENTS,
    LONGEST_CYCLE,
    BusyTable,
    CycleMark,
    busy_intervals,
    busy_table,
    quietest,
)
from cloud.domain.rooms.schemas import BusyHoursPublic, HourSharePublic, QuietHourPublic
from cloud.platform.storage.repository import RoomRecord
from cloud.platform.storage.tables import edge_events, machines, rooms

WEEK = timedelta(weeks=1)
DIGITS = 4
"""Shares are rounded to this many decimals."""


def busy_hours(conn: Connection, room: RoomRecord, *, weeks: int, tz_name: str, now: datetime) -> BusyHoursPublic:
    tz = ZoneInfo(tz_name)
    kinds = _machine_kinds(conn, room.id)
    start = max(now - weeks * WEEK, min(_history_start(conn, room.id, list(kinds)), now))
    marks = _cycle_marks(conn, room.id, list(kinds), start - LONGEST_CYCLE, now)
    counts: dict[str, int] = {}
    for kind in kinds.values():
        counts[kind] = counts.get(kind, 0) + 1
    table = busy_table(busy_intervals(marks, kinds, now), counts, tz, start, now)
    return _public(room, table, tz, weeks=weeks, start=start, now=now)


def _machine_kinds(conn: Connection, room_id: int) -> dict[str, str]:
    rows = conn.execute(select(machines.c.machine_id, machines.c.kind).where(machines.c.room_id == room_id))
    return {row.machine_id: row.kind for row in rows}


def _history_start(conn: Connection, room_id: int, machine_ids: list[str]) -> datetime:
    """When the room's history begins: its registration, or an earlier stored event (one
    indexed lookup per machine)."""
    registered: datetime = conn.execute(select(rooms.c.registered_at).where(rooms.c.id == room_id)).scalar_one()
    firsts: list[datetime | None] = [
        conn.scalar(
            select(func.min(edge_events.c.ts)).where(
                edge_events.c.room_id == room_id, edge_events.c.machine_id == machine_id
            )
        )
        for machine_id in machine_ids
    ]
    return min([registered, *(first for first in firsts if first is not None)])


def _cycle_marks(
    conn: Connection, room_id: int, machine_ids: list[str], since: datetime, until: datetime
) -> list[CycleMark]:
    if not machine_ids:
        return []
    rows = conn.execute(
        select(edge_events.c.machine_id, edge_events.c.type, edge_events.c.ts)
        .where(
            edge_events.c.room_id == room_id,
            edge_events.c.machine_id.in_(machine_ids),
            edge_events.c.ts >= since,
            edge_events.c.ts <= until,
            edge_events.c.type.in_(sorted(CYCLE_EVENTS)),
        )
        .order_by(edge_events.c.machine_id, edge_events.c.ts, edge_events.c.epoch, edge_events.c.seq)
    )
    return [CycleMark(row.machine_id, row.type, row.ts) for row in rows]


def _public(
    room: RoomRecord, table: BusyTable, tz: ZoneInfo, *, weeks: int, start: datetime, now: datetime
) -> BusyHoursPublic:
    return BusyHoursPublic(
        site=room.site,
        room=room.room,
        timezone=tz.key,
        weeks=weeks,
        weeks_covered=round((now - start) / WEEK, 3),
        from_=start,
        to=now,
        cycles=table.cycles,
        hours=[
            HourSharePublic(
                weekday=h.weekday,
                hour=h.hour,
                washers=round(h.washers, DIGITS),
                dryers=round(h.dryers, DIGITS),
                all=round(h.all, DIGITS),
                covered=h.covered_s > 0,
            )
            for h in table.hours
        ],
        quietest=[
            QuietHourPublic(
                weekday=q.share.weekday,
                hour=q.share.hour,
                all=round(q.share.all, DIGITS),
                starts_at=q.starts_at.astimezone(UTC),
            )
            for q in quietest(table, tz, now)
        ],
    )
