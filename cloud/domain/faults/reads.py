"""Reading fault reports as the asker may see them: a student their own, staff everyone's.

Who reported or resolved a report (or took any step on it) is shown to staff only;
students see per-machine counts of open reports and the room's repairs list (status,
expected date, staff's note), never who made the others or their photos.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, false, func, or_, select, true

from cloud.domain.faults.lifecycle import ACTIVE_VALUES, FaultStatus
from cloud.domain.faults.schemas import (
    FaultPublic,
    FaultsPage,
    FaultStepPublic,
    MachineFaultsPublic,
    RepairPublic,
    RepairsPublic,
)
from cloud.domain.machines.views import MachineView, views_of
from cloud.platform.errors import NotFound
from cloud.platform.pagination import PageRequest, fetch_page
from cloud.platform.storage.repository import RoomRecord
from cloud.platform.storage.tables import fault_updates, faults, machines, rooms, users
from cloud.platform.texts import text
from cloud.platform.viewer import STUDENT, Viewer
from kywash.contract import MachineKind

OPEN = FaultStatus.OPEN.value
RESOLVED = FaultStatus.RESOLVED.value
ACTIVE_FILTER = "active"
"""The list filter for every report still to do (open, acknowledged or scheduled)."""

_reporter = users.alias("reporter")
_resolver = users.alias("resolver")
_stepper = users.alias("stepper")


def is_active() -> Any:
    """SQL: the report is still a repair to do (counted as an open fault on its machine)."""
    return faults.c.status.in_(ACTIVE_VALUES)


def distinct_student_reporters(conn: Connection, machine_pk: int) -> int:
    """Students with an open (non-automatic) report on the machine, each counted once."""
    count = conn.execute(
        select(func.count(func.distinct(faults.c.reporter_id)))
        .select_from(faults.join(users, users.c.id == faults.c.reporter_id))
        .where(
            faults.c.machine_pk == machine_pk,
            is_active(),
            faults.c.automatic == false(),
            users.c.role == STUDENT,
        )
    ).scalar_one()
    return int(count)


def open_count(conn: Connection, machine_pk: int) -> int:
    count = conn.execute(
        select(func.count()).select_from(faults).where(faults.c.machine_pk == machine_pk, is_active())
    ).scalar_one()
    return int(count)


def fault_query() -> Select[Any]:
    """Reports with their machine, room, reporter and resolver, for ``fault_public``."""
    return select(
        faults,
        machines.c.machine_id,
        machines.c.kind,
        machines.c.number,
        rooms.c.site,
        rooms.c.room,
        func.coalesce(_reporter.c.student_id, _reporter.c.username).label("reporter_login"),
        func.coalesce(_resolver.c.student_id, _resolver.c.username).label("resolver_login"),
    ).select_from(
        faults.join(machines, machines.c.id == faults.c.machine_pk)
        .join(rooms, rooms.c.id == faults.c.room_id)
        .outerjoin(_reporter, _reporter.c.id == faults.c.reporter_id)
        .outerjoin(_resolver, _resolver.c.id == faults.c.resolved_by)
    )


def fault_public(row: Any, viewer: Viewer) -> FaultPublic:
    """A report as ``viewer`` may see it: who reported and resolved it only for staff."""
    m = row._mapping
    return FaultPublic(
        id=m["id"],
        site=m["site"],
        room=m["room"],
        machine=m["machine_id"],
        kind=MachineKind(m["kind"]),
        number=m["number"],
        automatic=bool(m["automatic"]),
        reason=m["reason"],
        description=m["description"],
        status=m["status"],
        created_at=m["created_at"],
        resolved_at=m["resolved_at"],
        resolution_note=m["resolution_note"],
        eta=m["eta"],
        note=m["status_note"],
        updated_at=m["status_at"],
        photo_url=f"/api/v1/faults/{m['id']}/photo" if m["photo_file"] else None,
        mine=m["reporter_id"] == viewer.id,
        reporter=m["reporter_login"] if viewer.is_staff else None,
        resolved_by=m["resolver_login"] if viewer.is_staff else None,
    )


def list_faults(
    conn: Connection,
    viewer: Viewer,
    request: PageRequest,
    *,
    status: str | None = None,
    site: str | None = None,
    room: str | None = None,
) -> FaultsPage:
    """Newest first: a student's own reports, or everyone's for staff; plus per-machine open counts."""
    query = fault_query()
    if not viewer.is_staff:
        query = query.where(faults.c.reporter_id == viewer.id)
    if status == ACTIVE_FILTER:
        query = query.where(is_active())
    elif status is not None:
        query = query.where(faults.c.status == status)
    page = fetch_page(conn, _in_room(query, site, room), faults.c.id, request, lambda row: fault_public(row, viewer))
    items = with_history(conn, page.items, viewer)
    return FaultsPage(items=items, next_before=page.next_before, machines=machines_with_faults(conn, site, room))


def with_history(conn: Connection, shown: Sequence[FaultPublic], viewer: Viewer) -> list[FaultPublic]:
    """The reports with their steps, oldest first (one query for all of them)."""
    if not shown:
        return []
    rows = conn.execute(
        select(
            fault_updates,
            func.coalesce(_stepper.c.student_id, _stepper.c.username).label("by_login"),
        )
        .select_from(fault_updates.outerjoin(_stepper, _stepper.c.id == fault_updates.c.by_id))
        .where(fault_updates.c.fault_id.in_([fault.id for fault in shown]))
        .order_by(fault_updates.c.id)
    )
    steps: dict[int, list[FaultStepPublic]] = defaultdict(list)
    for row in rows:
        m = row._mapping
        steps[int(m["fault_id"])].append(
            FaultStepPublic(
                status=m["status"],
                note=m["note"],
                eta=m["eta"],
                at=m["created_at"],
                by=m["by_login"] if viewer.is_staff else None,
            )
        )
    return [fault.model_copy(update={"history": steps.get(fault.id, [])}) for fault in shown]


def room_repairs(conn: Connection, room: RoomRecord, viewer: Viewer) -> RepairsPublic:
    """The room's reports still to do, oldest first, as anyone in the room may see them."""
    rows = conn.execute(
        select(faults, machines.c.machine_id, machines.c.kind, machines.c.number)
        .select_from(faults.join(machines, machines.c.id == faults.c.machine_pk))
        .where(faults.c.room_id == room.id, is_active())
        .order_by(faults.c.id)
    )
    items = []
    for row in rows:
        m = row._mapping
        mine = m["reporter_id"] is not None and m["reporter_id"] == viewer.id
        items.append(
            RepairPublic(
                fault_id=m["id"],
                machine=m["machine_id"],
                kind=MachineKind(m["kind"]),
                number=m["number"],
                status=m["status"],
                eta=m["eta"],
                note=m["status_note"],
                reported_at=m["created_at"],
                updated_at=m["status_at"],
                automatic=bool(m["automatic"]),
                reason=m["reason"],
                description=m["description"] if viewer.is_staff or mine else None,
                mine=mine,
            )
        )
    return RepairsPublic(site=room.site, room=room.room, items=items)


def machines_with_faults(
    conn: Connection, site: str | None = None, room: str | None = None
) -> list[MachineFaultsPublic]:
    """Every machine with open reports or out of service, as students see it."""
    has_open = select(faults.c.id).where(faults.c.machine_pk == machines.c.id, is_active()).exists()
    query = _in_room(
        select(machines.c.id)
        .select_from(machines.join(rooms, rooms.c.id == machines.c.room_id))
        .where(or_(machines.c.out_of_service == true(), has_open)),
        site,
        room,
    )
    pks = [int(pk) for pk in conn.execute(query).scalars()]
    return [machine_faults(view) for view in views_of(conn, machine_pks=pks)] if pks else []


def machine_faults(view: MachineView) -> MachineFaultsPublic:
    shown = view.public
    return MachineFaultsPublic(
        site=shown.site,
        room=shown.room,
        machine=shown.id,
        kind=shown.kind,
        number=shown.number,
        open_faults=shown.open_faults,
        out_of_service=shown.out_of_service,
        service_reason=shown.service_reason,
        service_since=shown.service_since,
    )


def photo_of(conn: Connection, fault_id: int, viewer: Viewer) -> tuple[str, str]:
    """(stored name, content type) of a report's photo, for staff and its reporter only.

    Anyone else gets the same ``NotFound`` as for a report without a photo or no report at
    all, so the route reveals nothing about reports that are not theirs.
    """
    row = conn.execute(
        select(faults.c.photo_file, faults.c.photo_type, faults.c.reporter_id).where(faults.c.id == fault_id)
    ).first()
    allowed = row is not None and (viewer.is_staff or row.reporter_id == viewer.id)
    if row is None or not allowed or not row.photo_file or not row.photo_type:
        raise NotFound(text("error.fault.no_such_photo", fault_id=fault_id), code="no_such_photo")
    return str(row.photo_file), str(row.photo_type)


def _in_room(query: Select[Any], site: str | None, room: str | None) -> Select[Any]:
    if site is not None:
        query = query.where(rooms.c.site == site)
    if room is not None:
        query = query.where(rooms.c.room == room)
    return query


def fault_by_id(conn: Connection, fault_id: int, viewer: Viewer) -> FaultPublic:
    row = conn.execute(fault_query().where(faults.c.id == fault_id)).first()
    if row is None:
        raise NotFound(text("error.fault.no_such_fault", fault_id=fault_id), code="no_such_fault")
    (shown,) = with_history(conn, [fault_public(row, viewer)], viewer)
    return shown
