"""Opening and clearing incidents in ``staff_alarms``, each once however often it is asked.

Opening is an ``INSERT ... ON CONFLICT (open_key) DO NOTHING``: a repeated message, a second
replica or another timer round finds the key taken and opens nothing. Clearing is an
``UPDATE ... WHERE open_key = :key`` that sets the key to null: only the first one matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from cloud.domain.alarms.rules import AlarmKind
from cloud.platform.storage.repository import insert_ignoring_duplicates
from cloud.platform.storage.tables import staff_alarms


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    id: int
    kind: AlarmKind
    room_id: int
    machine_pk: int | None
    site: str
    room: str
    machine: str | None
    opened_at: datetime
    cleared_at: datetime | None
    details: dict[str, Any]


COLUMNS = [
    staff_alarms.c.id,
    staff_alarms.c.kind,
    staff_alarms.c.room_id,
    staff_alarms.c.machine_pk,
    staff_alarms.c.site,
    staff_alarms.c.room,
    staff_alarms.c.machine,
    staff_alarms.c.opened_at,
    staff_alarms.c.cleared_at,
    staff_alarms.c.details,
]


def record(row: Row[Any] | Any) -> AlarmRecord:
    values = dict(row._mapping)
    return AlarmRecord(**{**values, "kind": AlarmKind(values["kind"]), "details": values["details"] or {}})


@dataclass(frozen=True, slots=True)
class Subject:
    """What an incident is about: a room, or a machine in it."""

    room_id: int
    site: str
    room: str
    machine_pk: int | None = None
    machine: str | None = None


def open_alarm(
    conn: Connection, kind: AlarmKind, key: str, subject: Subject, now: datetime, details: dict[str, Any]
) -> AlarmRecord | None:
    """The incident, if this call opened it; None if it was open already."""
    values = {
        "kind": kind.value,
        "room_id": subject.room_id,
        "machine_pk": subject.machine_pk,
        "site": subject.site,
        "room": subject.room,
        "machine": subject.machine,
        "opened_at": now,
        "details": details,
        "open_key": key,
    }
    if not insert_ignoring_duplicates(conn, staff_alarms, values, ("open_key",)):
        return None
    row = conn.execute(select(*COLUMNS).where(staff_alarms.c.open_key == key)).one()
    return record(row)


def clear_alarm(conn: Connection, key: str, now: datetime) -> AlarmRecord | None:
    """The incident, if this call cleared it; None if none was open."""
    row = conn.execute(
        update(staff_alarms)
        .where(staff_alarms.c.open_key == key)
        .values(open_key=None, cleared_at=now)
        .returning(*COLUMNS)
    ).first()
    return record(row) if row is not None else None
