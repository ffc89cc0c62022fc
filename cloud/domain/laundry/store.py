"""SQL for claims and waitlist entries. Every status change is a conditional UPDATE
(``WHERE status = :expected``) that reports whether it won, so when two replicas (or a
request and the timer loop) race, exactly one of them carries out the side effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from cloud.domain.laundry.rules import LIVE, ClaimStatus
from cloud.platform.errors import NotFound
from cloud.platform.storage.tables import claims, edge_events, machines, rooms, users, waitlist_entries
from cloud.platform.texts import Machine, text

LIVE_ENTRY = ("waiting", "offered")


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    id: int
    machine_pk: int
    user_id: int
    category: str
    status: ClaimStatus
    created_at: datetime
    confirm_by: datetime
    started_at: datetime | None
    finished_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    reminders_sent: int
    next_reminder_at: datetime | None


@dataclass(frozen=True, slots=True)
class EntryRecord:
    id: int
    room_id: int
    kind: str
    user_id: int
    status: str
    joined_at: datetime
    offered_machine_pk: int | None
    offered_at: datetime | None
    hold_until: datetime | None


@dataclass(frozen=True, slots=True)
class MachineRef:
    """What the laundry rules need to know of a machine and its room."""

    pk: int
    room_id: int
    site: str
    room: str
    machine_id: str
    kind: str
    number: int
    state: str | None
    room_online: bool
    out_of_service: bool

    @property
    def name(self) -> str:
        return f"{self.kind} {self.number}"

    @property
    def full_name(self) -> str:
        """The machine with its room, for staff: "Washer 2 in north/laundry-1"."""
        return f"{self.kind.capitalize()} {self.number} in {self.site}/{self.room}"

    @property
    def where(self) -> dict[str, Any]:
        """``full_name`` as catalog parameters: texts say "{Machine} in {site}/{room}" in the reader's language."""
        return {"machine": Machine.of(self), "site": self.site, "room": self.room}

    @property
    def data(self) -> dict[str, object]:
        """How notifications and live messages name the machine."""
        return {"machine": self.machine_id, "kind": self.kind, "number": self.number}


_CLAIM_COLUMNS = [claims.c[name] for name in ClaimRecord.__slots__]
_ENTRY_COLUMNS = [waitlist_entries.c[name] for name in EntryRecord.__slots__]
_MACHINE_REF_COLUMNS = [
    machines.c.id,
    machines.c.room_id,
    rooms.c.site,
    rooms.c.room,
    machines.c.machine_id,
    machines.c.kind,
    machines.c.number,
    machines.c.state,
    rooms.c.status,
    machines.c.out_of_service,
]


def _claim(row: Any) -> ClaimRecord:
    values = dict(row._mapping)
    values["status"] = ClaimStatus(values["status"])
    return ClaimRecord(**values)


def _entry(row: Any) -> EntryRecord:
    return EntryRecord(**dict(row._mapping))


def _machine_ref(row: Any) -> MachineRef:
    pk, room_id, site, room, machine_id, kind, number, state, room_status, out_of_service = row
    return MachineRef(
        pk, room_id, site, room, machine_id, kind, number, state, room_status != "offline", bool(out_of_service)
    )


# --- machines ----------------------------------------------------------------------------


def machine_refs(
    conn: Connection, *, room_id: int | None = None, kind: str | None = None, pks: list[int] | None = None
) -> list[MachineRef]:
    query = (
        select(*_MACHINE_REF_COLUMNS)
        .select_from(machines.join(rooms, machines.c.room_id == rooms.c.id))
        .order_by(machines.c.number)
    )
    if room_id is not None:
        query = query.where(machines.c.room_id == room_id)
    if kind is not None:
        query = query.where(machines.c.kind == kind)
    if pks is not None:
        query = query.where(machines.c.id.in_(pks))
    return [_machine_ref(row) for row in conn.execute(query)]


_MACHINE_REF_BY_PK = (
    select(*_MACHINE_REF_COLUMNS)
    .select_from(machines.join(rooms, machines.c.room_id == rooms.c.id))
    .where(machines.c.id == bindparam("machine_pk"))
)
"""Built once: ingest asks for a machine per event, and building a statement costs more than running it."""


def machine_ref(conn: Connection, pk: int) -> MachineRef | None:
    row = conn.execute(_MACHINE_REF_BY_PK, {"machine_pk": pk}).first()
    return _machine_ref(row) if row else None


def lock_machine(conn: Connection, pk: int) -> None:
    """Serialise claim decisions on one machine across replicas (a no-op write takes the row lock)."""
    conn.execute(update(machines).where(machines.c.id == pk).values(id=machines.c.id))


def machine_place(conn: Connection, machine_pk: int, *, lock: bool = False) -> MachineRef:
    """The machine and its room; with ``lock``, its row stays locked until commit, so concurrent
    reports on one machine count one after another."""
    if lock:
        lock_machine(conn, machine_pk)
    place = machine_ref(conn, machine_pk)
    if place is None:
        raise NotFound(text("error.no_such_machine"), code="no_such_machine")
    return place


# --- claims ------------------------------------------------------------------------------


_LIVE_CLAIM = select(*_CLAIM_COLUMNS).where(
    claims.c.machine_pk == bindparam("machine_pk"), claims.c.status.in_([s.value for s in LIVE])
)


def live_claim(conn: Connection, machine_pk: int) -> ClaimRecord | None:
    row = conn.execute(_LIVE_CLAIM, {"machine_pk": machine_pk}).first()
    return _claim(row) if row else None


def get_claim(conn: Connection, claim_id: int) -> ClaimRecord | None:
    row = conn.execute(select(*_CLAIM_COLUMNS).where(claims.c.id == claim_id)).first()
    return _claim(row) if row else None


def live_claims_of(conn: Connection, user_id: int, kind: str | None = None) -> list[ClaimRecord]:
    query = (
        select(*_CLAIM_COLUMNS)
        .select_from(claims.join(machines, claims.c.machine_pk == machines.c.id))
        .where(claims.c.user_id == user_id, claims.c.status.in_([s.value for s in LIVE]))
        .order_by(claims.c.id)
    )
    if kind is not None:
        query = query.where(machines.c.kind == kind)
    return [_claim(row) for row in conn.execute(query)]


def insert_claim(
    conn: Connection, *, machine_pk: int, user_id: int, category: str, now: datetime, confirm_by: datetime
) -> ClaimRecord:
    claim_id = conn.execute(
        claims.insert()
        .values(
            machine_pk=machine_pk,
            user_id=user_id,
            category=category,
            status=ClaimStatus.PENDING.value,
            created_at=now,
            confirm_by=confirm_by,
        )
        .returning(claims.c.id)
    ).scalar_one()
    found = get_claim(conn, int(claim_id))
    assert found is not None
    return found


def move_claim(conn: Connection, claim_id: int, expected: ClaimStatus, to: ClaimStatus, **values: Any) -> bool:
    """Move a claim from ``expected`` to ``to``; False if someone else moved it first."""
    result = conn.execute(
        update(claims)
        .where(claims.c.id == claim_id, claims.c.status == expected.value)
        .values(status=to.value, **values)
    )
    return result.rowcount == 1


def door_closed_since(conn: Connection, machine: MachineRef, since: datetime) -> int | None:
    """The sequence number of the last ``door_closed`` event the cloud received for ``machine``
    at or after ``since``, if any."""
    seq = conn.scalar(
        select(edge_events.c.seq)
        .where(
            edge_events.c.room_id == machine.room_id,
            edge_events.c.machine_id == machine.machine_id,
            edge_events.c.type == "door_closed",
            edge_events.c.received_at >= since,
        )
        .order_by(edge_events.c.seq.desc())
        .limit(1)
    )
    return int(seq) if seq is not None else None


def advance_reminder(conn: Connection, claim_id: int, due: datetime, *, sent: int, next_at: datetime | None) -> bool:
    """Count a reminder as sent, once: only the caller that read ``due`` still there wins."""
    result = conn.execute(
        update(claims)
        .where(
            claims.c.id == claim_id,
            claims.c.status == ClaimStatus.FINISHED.value,
            claims.c.next_reminder_at == due,
        )
        .values(reminders_sent=sent, next_reminder_at=next_at)
    )
    return result.rowcount == 1


def due_claims(conn: Connection, status: ClaimStatus, column: str, now: datetime, limit: int = 100) -> list[int]:
    deadline = claims.c[column]
    query = (
        select(claims.c.id)
        .where(claims.c.status == status.value, deadline.is_not(None), deadline <= now)
        .order_by(deadline)
        .limit(limit)
    )
    return [int(claim_id) for claim_id in conn.execute(query).scalars()]


# --- waitlist ----------------------------------------------------------------------------


_LIVE_ENTRIES = (
    select(*_ENTRY_COLUMNS, users.c.student_id)
    .select_from(waitlist_entries.join(users, waitlist_entries.c.user_id == users.c.id))
    .where(
        waitlist_entries.c.room_id == bindparam("entries_room"),
        waitlist_entries.c.kind == bindparam("entries_kind"),
        waitlist_entries.c.status.in_(LIVE_ENTRY),
    )
    .order_by(waitlist_entries.c.id)
)
"""Built once: every machine that comes free asks for its room's waitlist."""


def live_entries(conn: Connection, room_id: int, kind: str) -> list[tuple[EntryRecord, str | None]]:
    """The live entries of a waitlist in queue order, each with its student ID."""
    found = []
    for row in conn.execute(_LIVE_ENTRIES, {"entries_room": room_id, "entries_kind": kind}):
        values = dict(row._mapping)
        student_id = values.pop("student_id")
        found.append((EntryRecord(**values), student_id))
    return found


def live_entry_of(conn: Connection, room_id: int, kind: str, user_id: int) -> EntryRecord | None:
    row = conn.execute(
        select(*_ENTRY_COLUMNS).where(
            waitlist_entries.c.room_id == room_id,
            waitlist_entries.c.kind == kind,
            waitlist_entries.c.user_id == user_id,
            waitlist_entries.c.status.in_(LIVE_ENTRY),
        )
    ).first()
    return _entry(row) if row else None


def hold_on(conn: Connection, machine_pk: int) -> EntryRecord | None:
    row = conn.execute(
        select(*_ENTRY_COLUMNS).where(
            waitlist_entries.c.offered_machine_pk == machine_pk, waitlist_entries.c.status == "offered"
        )
    ).first()
    return _entry(row) if row else None


def hold_lapsed(conn: Connection, machine_pk: int, user_id: int, since: datetime) -> bool:
    """Whether ``user_id``'s hold on the machine ran out (since ``since``): their claim now comes
    too late, and they should be told so rather than that someone else holds it."""
    row = conn.execute(
        select(waitlist_entries.c.id).where(
            waitlist_entries.c.offered_machine_pk == machine_pk,
            waitlist_entries.c.user_id == user_id,
            waitlist_entries.c.status == "expired",
            waitlist_entries.c.closed_at >= since,
        )
    ).first()
    return row is not None


def get_entry(conn: Connection, entry_id: int) -> EntryRecord | None:
    row = conn.execute(select(*_ENTRY_COLUMNS).where(waitlist_entries.c.id == entry_id)).first()
    return _entry(row) if row else None


def insert_entry(conn: Connection, *, room_id: int, kind: str, user_id: int, now: datetime) -> int:
    return int(
        conn.execute(
            waitlist_entries.insert()
            .values(room_id=room_id, kind=kind, user_id=user_id, status="waiting", joined_at=now)
            .returning(waitlist_entries.c.id)
        ).scalar_one()
    )


def move_entry(conn: Connection, entry_id: int, expected: str, to: str, **values: Any) -> bool:
    result = conn.execute(
        update(waitlist_entries)
        .where(waitlist_entries.c.id == entry_id, waitlist_entries.c.status == expected)
        .values(status=to, **values)
    )
    return result.rowcount == 1


def due_holds(conn: Connection, now: datetime, limit: int = 100) -> list[int]:
    query = (
        select(waitlist_entries.c.id)
        .where(waitlist_entries.c.status == "offered", waitlist_entries.c.hold_until <= now)
        .order_by(waitlist_entries.c.hold_until)
        .limit(limit)
    )
    return [int(entry_id) for entry_id in conn.execute(query).scalars()]
