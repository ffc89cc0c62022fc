"""Machines with what policy adds to them: the live claim, the waitlist hold, open faults
(and, from a scheduled repair, when an out-of-service machine should be back).

One query with outer joins (the partial unique indexes guarantee at most one live claim
and one hold per machine), so listing a room stays one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select

from cloud.domain.machines.cycle_length import EndSource, claim_expected_end, cycle_expected_end, extra_minutes
from cloud.domain.machines.schemas import ClaimPublic
from cloud.domain.machines.usage import RUNNING_STATES
from cloud.platform.storage.repository import (
    MACHINE_COLUMNS,
    ROOM_COLUMNS,
    MachineRecord,
    RoomRecord,
)
from cloud.platform.storage.tables import claims, faults, machines, rooms, waitlist_entries

LIVE_CLAIM_STATUSES = ("pending", "active", "finished")
ACTIVE_FAULT_STATUSES = ("acknowledged", "open", "scheduled")
"""``cloud.domain.faults.lifecycle.ACTIVE`` (the faults package sits above this one; a test
keeps the two equal): reports still to do, counted as the machine's open faults."""


@dataclass(frozen=True, slots=True)
class MachineExtras:
    claim: ClaimPublic | None = None
    claim_user_id: int | None = None
    hold_user_id: int | None = None
    hold_until: datetime | None = None
    open_faults: int = 0
    out_of_service: bool = False
    service_reason: str | None = None
    service_since: datetime | None = None
    service_eta: date | None = None
    """The latest expected repair date of the machine's scheduled repairs."""
    desired_revision: int = 0
    applied_revision: int = 0
    applied_at: datetime | None = None
    cycle_started_at: datetime | None = None
    """The cycle in progress (running, paused, ending): when it started, by the edge."""
    expected_end: datetime | None = None
    """... and when it should end: the edge's word, else the estimate (``expected_end_source``)."""
    expected_end_source: EndSource | None = None
    observed_at: datetime | None = None
    """When the machine's last reading was stored (``machines.current_at``)."""


_live_claim = claims.alias("live_claim")
_hold = waitlist_entries.alias("hold")
_CLAIM_COLUMNS = [
    _live_claim.c.id.label("claim_id"),
    _live_claim.c.user_id.label("claim_user_id"),
    _live_claim.c.status.label("claim_status"),
    _live_claim.c.category.label("claim_category"),
    _live_claim.c.created_at.label("claim_created_at"),
    _live_claim.c.confirm_by.label("claim_confirm_by"),
    _live_claim.c.started_at.label("claim_started_at"),
    _live_claim.c.finished_at.label("claim_finished_at"),
]


def _base_query() -> Any:
    open_faults = (
        select(func.count())
        .select_from(faults)
        .where(faults.c.machine_pk == machines.c.id, faults.c.status.in_(ACTIVE_FAULT_STATUSES))
        .scalar_subquery()
        .label("open_faults")
    )
    repair_eta = (
        select(func.max(faults.c.eta))
        .where(faults.c.machine_pk == machines.c.id, faults.c.status == "scheduled")
        .scalar_subquery()
        .label("repair_eta")
    )
    return (
        select(
            *ROOM_COLUMNS,
            *MACHINE_COLUMNS,
            machines.c.out_of_service,
            machines.c.service_reason,
            machines.c.service_since,
            machines.c.desired_revision,
            machines.c.applied_revision,
            machines.c.applied_at,
            machines.c.typical_cycle_s,
            machines.c.cycle_started_at,
            machines.c.expected_end.label("edge_expected_end"),
            machines.c.current_at,
            *_CLAIM_COLUMNS,
            _hold.c.user_id.label("hold_user_id"),
            _hold.c.hold_until.label("hold_until"),
            open_faults,
            repair_eta,
        )
        .select_from(
            machines.join(rooms, machines.c.room_id == rooms.c.id)
            .outerjoin(
                _live_claim,
                and_(_live_claim.c.machine_pk == machines.c.id, _live_claim.c.status.in_(LIVE_CLAIM_STATUSES)),
            )
            .outerjoin(_hold, and_(_hold.c.offered_machine_pk == machines.c.id, _hold.c.status == "offered"))
        )
        .order_by(rooms.c.site, rooms.c.room, machines.c.kind.desc(), machines.c.number)
    )


_QUERY = _base_query()
_BY_ROOMS = _QUERY.where(machines.c.room_id.in_(bindparam("room_ids", expanding=True)))
_BY_PKS = _QUERY.where(machines.c.id.in_(bindparam("machine_pks", expanding=True)))
"""Built once (each view read would otherwise build the query again, which costs more than running it)."""
_ROOM_END = len(ROOM_COLUMNS)
_MACHINE_END = _ROOM_END + len(MACHINE_COLUMNS)


def machines_with_extras(
    conn: Connection,
    *,
    room_ids: Sequence[int] | None = None,
    machine_ids: Sequence[str] | None = None,
    machine_pks: Sequence[int] | None = None,
) -> list[tuple[RoomRecord, MachineRecord, MachineExtras]]:
    params: dict[str, Any] = {}
    if machine_ids is None and (room_ids is None) != (machine_pks is None):
        query = _BY_ROOMS if room_ids is not None else _BY_PKS
        params = {"room_ids": list(room_ids)} if room_ids is not None else {"machine_pks": list(machine_pks or ())}
    else:
        query = _QUERY
        if room_ids is not None:
            query = query.where(machines.c.room_id.in_(list(room_ids)))
        if machine_ids is not None:
            query = query.where(machines.c.machine_id.in_(list(machine_ids)))
        if machine_pks is not None:
            query = query.where(machines.c.id.in_(list(machine_pks)))
    return [
        (RoomRecord(*row[:_ROOM_END]), MachineRecord(*row[_ROOM_END:_MACHINE_END]), _extras(row._mapping))
        for row in conn.execute(query, params)
    ]


def _extras(row: Any) -> MachineExtras:
    in_cycle = row[machines.c.state] in RUNNING_STATES
    edge_end = row["edge_expected_end"] if in_cycle else None
    cycle_started_at = row["cycle_started_at"] if in_cycle else None
    claim = None
    if row["claim_id"] is not None:
        claim = ClaimPublic(
            id=row["claim_id"],
            status=row["claim_status"],
            category=row["claim_category"],
            created_at=row["claim_created_at"],
            confirm_by=row["claim_confirm_by"],
            started_at=row["claim_started_at"],
            finished_at=row["claim_finished_at"],
            expected_end=claim_expected_end(
                row[machines.c.kind],
                row["claim_status"],
                row["claim_category"],
                cycle_started_at or row["claim_started_at"],
                row["typical_cycle_s"],
                edge_end,
            ),
        )
    end, source = None, None
    if in_cycle:
        active = row["claim_status"] == "active"
        end, source = cycle_expected_end(
            row[machines.c.kind],
            edge_end=edge_end,
            started_at=cycle_started_at or (row["claim_started_at"] if active else None),
            typical_s=row["typical_cycle_s"],
            extra=extra_minutes(row["claim_category"]) if active else 0,
        )
    return MachineExtras(
        claim=claim,
        claim_user_id=row["claim_user_id"],
        hold_user_id=row["hold_user_id"],
        hold_until=row["hold_until"],
        open_faults=int(row["open_faults"] or 0),
        out_of_service=bool(row["out_of_service"]),
        service_reason=row["service_reason"],
        service_since=row["service_since"],
        service_eta=_as_date(row["repair_eta"]),
        desired_revision=int(row["desired_revision"] or 0),
        applied_revision=int(row["applied_revision"] or 0),
        applied_at=row["applied_at"],
        cycle_started_at=cycle_started_at,
        expected_end=end,
        expected_end_source=source,
        observed_at=row["current_at"],
    )


def _as_date(value: Any) -> date | None:
    """``max()`` of a date column loses its type on SQLite (it comes back as ISO text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
