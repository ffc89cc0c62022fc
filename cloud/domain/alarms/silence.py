"""A room's edge gone silent: opened by the timers on every replica, cleared when the edge is heard.

The deadline is stored already: it is the room's ``last_seen`` plus
``staff_alarm_silent_minutes``. Each timer round lists the rooms past it without an open
incident and opens each in its own transaction, with the room's row locked and its
``last_seen`` read again, so a message that arrived meanwhile wins and several replicas
open the incident once (``store.open_alarm``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, String, cast, exists, literal, select

from cloud.domain.alarms import events
from cloud.domain.alarms.rules import AlarmKind, is_silent, open_key, open_key_prefix
from cloud.domain.alarms.store import Subject, clear_alarm, open_alarm
from cloud.platform.storage.tables import rooms, staff_alarms
from cloud.platform.unit_of_work import Tx


def rooms_gone_silent(conn: Connection, now: datetime, silent_minutes: float) -> list[int]:
    """Rooms unheard for longer than the threshold whose silence has no open incident yet."""
    cutoff = now - timedelta(minutes=silent_minutes)
    key = literal(open_key_prefix(AlarmKind.EDGE_SILENT)) + cast(rooms.c.id, String)
    already = exists().where(staff_alarms.c.open_key == key)  # the unique index answers it
    query = select(rooms.c.id).where(rooms.c.last_seen < cutoff, ~already).order_by(rooms.c.id)
    return [int(room_id) for room_id in conn.execute(query).scalars()]


def open_if_silent(tx: Tx, room_id: int) -> bool:
    """Open the room's silence incident if it is (still) silent; False if heard meanwhile or already open."""
    row = tx.conn.execute(
        select(rooms.c.site, rooms.c.room, rooms.c.last_seen).where(rooms.c.id == room_id).with_for_update()
    ).first()
    minutes = tx.settings.staff_alarm_silent_minutes
    if row is None or not is_silent(row.last_seen, tx.now, minutes):
        return False
    details = {"since": row.last_seen.isoformat(), "silent_minutes": minutes}
    subject = Subject(room_id, row.site, row.room)
    key = open_key(AlarmKind.EDGE_SILENT, room_id)
    alarm = open_alarm(tx.conn, AlarmKind.EDGE_SILENT, key, subject, tx.now, details)
    if alarm is None:
        return False
    events.room_went_offline(tx, alarm)
    return True


def room_heard(tx: Tx, room_id: int) -> bool:
    """The room's edge sent something: its silence incident, if one is open, clears (True)."""
    alarm = clear_alarm(tx.conn, open_key(AlarmKind.EDGE_SILENT, room_id), tx.now)
    if alarm is None:
        return False
    events.room_came_online(tx, alarm)
    return True
