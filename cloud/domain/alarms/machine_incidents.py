"""Incidents of one machine, decided inside the transaction of the change that causes them:
its sensors reporting a fault (ingest), and its automatic removal from service (the fault
threshold). Whether one opens or clears is ``rules.py``'s; ``store.py`` makes it happen once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from cloud.domain.alarms import events
from cloud.domain.alarms.rules import AlarmKind, Change, open_key, sensor_fault_change, service_change
from cloud.domain.alarms.store import COLUMNS, Subject, clear_alarm, open_alarm, record
from cloud.domain.laundry.store import MachineRef
from cloud.platform.storage.tables import staff_alarms
from cloud.platform.unit_of_work import Tx


def sensors_moved(tx: Tx, machine: MachineRef, before: str | None, after: str, reason: str | None = None) -> bool:
    """The machine's sensor state moved; True if that opened a sensor-fault incident (staff were told)."""
    change = sensor_fault_change(before, after)
    if change is None:
        return False
    return _apply(tx, machine, AlarmKind.SENSOR_FAULT, change, {"reason": reason} if reason else {})


def service_moved(tx: Tx, machine: MachineRef, *, out_of_service: bool, automatic: bool, reason: str | None) -> bool:
    """The machine left or returned to service; True if an incident opened or cleared (staff were told)."""
    change = service_change(out_of_service=out_of_service, automatic=automatic)
    if change is None:
        return False
    return _apply(tx, machine, AlarmKind.OUT_OF_SERVICE, change, {"reason": reason} if reason else {})


def _apply(tx: Tx, machine: MachineRef, kind: AlarmKind, change: Change, details: dict[str, Any]) -> bool:
    key = open_key(kind, machine.pk)
    if change is Change.CLEAR:
        cleared = clear_alarm(tx.conn, key, tx.now)
        if cleared is not None:
            events.alarm_cleared(tx, cleared)
        return cleared is not None
    subject = Subject(machine.room_id, machine.site, machine.room, machine.pk, machine.machine_id)
    opened = open_alarm(tx.conn, kind, key, subject, tx.now, details)
    if opened is not None:
        events.alarm_opened(tx, opened)
    return opened is not None


def machines_removed(tx: Tx, room_id: int) -> int:
    """The room's info no longer lists machines that had open incidents (their rows are gone, so
    ``machine_pk`` is null): those incidents can never clear by themselves. They are closed;
    staff clients see them leave the list (nobody is notified: there is no machine left to
    look at). How many."""
    rows = tx.conn.execute(
        update(staff_alarms)
        .where(
            staff_alarms.c.room_id == room_id,
            staff_alarms.c.machine.is_not(None),
            staff_alarms.c.machine_pk.is_(None),
            staff_alarms.c.open_key.is_not(None),
        )
        .values(open_key=None, cleared_at=tx.now)
        .returning(*COLUMNS)
    ).all()
    for row in rows:
        events.alarm_withdrawn(tx, record(row))
    return len(rows)
