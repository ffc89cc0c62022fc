"""``/api/v1/faults`` and the staff service-state routes: report, list, photo, status steps, the
room's repairs, out of service and back.

Plain ``def`` routes: the database and the photo file are blocking I/O, so FastAPI runs
them in its thread pool. Permission checks are the ``CurrentUser``/``StaffUser``
dependencies; nothing here builds an HTTP error itself.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from cloud.api.auth import CurrentUser, StaffUser
from cloud.api.deps import PageDep, ReadConnDep, RoomChoiceDep, Runtime, StateDep, TxDep
from cloud.domain.faults import photos, reads, steps
from cloud.domain.faults.lifecycle import FaultStatus
from cloud.domain.faults.photos import StoredPhoto
from cloud.domain.faults.schemas import (
    Description,
    FaultPublic,
    FaultResolve,
    FaultsPage,
    FaultStatusChange,
    MachineFaultsPublic,
    RepairsPublic,
    ServiceReturn,
    ServiceTakeOut,
)
from cloud.domain.machines.schemas import MachinePublic
from cloud.domain.machines.views import MachineView, RoomChoice, choose_room, find_view, views_of
from cloud.domain.rooms import events
from cloud.platform.errors import Conflict
from cloud.platform.storage.tables import faults
from cloud.platform.texts import Machine, text
from cloud.platform.unit_of_work import committed_or_refused
from cloud.policy import fault_reports, out_of_service
from kywash.contract import MachineKind

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["faults"])

MachineNumber = Annotated[int, PathParam(ge=1, description="the machine's number within its type, 1..N")]
PHOTO_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
}


@router.post("/faults/report", status_code=201, response_model=FaultPublic)
def report_fault(
    state: StateDep,
    viewer: CurrentUser,
    choice: RoomChoiceDep,
    machine_type: Annotated[MachineKind, Form()],
    machine_id: Annotated[int, Form(ge=1, description="the machine's number within its type, 1..N")],
    description: Annotated[Description, Form()],
    photo: Annotated[UploadFile | None, File(description="JPEG, PNG or WebP, up to the size limit")] = None,
    form_site: Annotated[str | None, Form(alias="site")] = None,
    form_room: Annotated[str | None, Form(alias="room", description="when there are several rooms")] = None,
) -> FaultPublic:
    """Report a broken washer or dryer, optionally with a photo.

    Good data is never lost half-way: if the photo is refused (not a JPEG/PNG/WebP by its
    content → 415 ``unsupported_photo``; over the size limit → 413 ``photo_too_large``),
    the whole report is refused with a message saying so, and nothing is stored — the
    student sends it again without the photo or with another one. The photo's name and
    declared type are ignored; it is stored under a random name outside the web root.
    """
    choice = dataclasses.replace(choice, site=form_site or choice.site, room=form_room or choice.room)
    view = _machine_view(state, choice, machine_type, machine_id)
    stored = _store_photo(state, photo)
    try:
        with committed_or_refused(), state.transactions.begin() as tx:
            return fault_reports.report_fault(
                tx, viewer=viewer, machine_pk=view.pk, description=description, photo=stored
            )
    except BaseException:
        if stored is not None:
            _discard_unsaved_photo(state, stored)
        raise


@router.get("/faults/", response_model=FaultsPage)
def list_faults(
    conn: ReadConnDep,
    viewer: CurrentUser,
    page: PageDep,
    status: Literal["open", "acknowledged", "scheduled", "resolved", "wont_fix", "active"] | None = None,
    site: str | None = None,
    room: str | None = None,
) -> FaultsPage:
    """Reports newest first: students see their own, staff everyone's (with reporter and photo).

    ``status`` picks one status, or ``active`` for every report still to do (open,
    acknowledged or scheduled)."""
    return reads.list_faults(conn, viewer, page, status=status, site=site, room=room)


@router.get("/faults/{fault_id:int}/photo", response_class=FileResponse, responses={200: {"content": {"image/*": {}}}})
def fault_photo(state: StateDep, conn: ReadConnDep, viewer: CurrentUser, fault_id: int) -> FileResponse:
    """The report's photo, to staff and its reporter only (anyone else: 404, as if there were none)."""
    name, content_type = reads.photo_of(conn, fault_id, viewer)
    path = photos.photo_path(Path(state.settings.photo_dir), name)
    return FileResponse(path, media_type=content_type, headers=PHOTO_HEADERS)


@router.post("/faults/{fault_id:int}/resolve", response_model=FaultPublic)
def resolve_fault(tx: TxDep, staff: StaffUser, fault_id: int, body: FaultResolve | None = None) -> FaultPublic:
    """Close a report as resolved (staff; 409 ``already_resolved``): the ``resolved`` step of
    ``/status``. It does not put the machine back in service."""
    return steps.change_status(tx, fault_id, FaultStatus.RESOLVED, by=staff, note=body.note if body else None)


@router.post("/faults/{fault_id:int}/status", response_model=FaultPublic)
def change_fault_status(tx: TxDep, staff: StaffUser, fault_id: int, body: FaultStatusChange) -> FaultPublic:
    """Take the next step on a report (staff): ``acknowledged``, ``scheduled`` (with ``eta``, the
    expected repair date), ``resolved`` or ``wont_fix`` (with a ``note`` saying why); the
    report with its history. The reporter is notified and the room sees it live.

    422 ``eta_required`` / ``bad_eta`` (a date in the past, over a year ahead, or with another
    step) / ``note_required``; 409 ``already_resolved`` / ``already_wont_fix`` once closed."""
    status = FaultStatus(body.status)
    return steps.change_status(tx, fault_id, status, by=staff, note=body.note, eta=body.eta)


@router.get("/rooms/{room}/repairs", response_model=RepairsPublic)
def room_repairs(
    conn: ReadConnDep,
    viewer: CurrentUser,
    room: Annotated[str, PathParam(min_length=1, max_length=63)],
    site: Annotated[
        str | None, Query(min_length=1, max_length=63, description="needed when the room name repeats")
    ] = None,
) -> RepairsPublic:
    """The room's repairs still to do (open, acknowledged, scheduled), oldest report first: status,
    expected date and staff's latest note, to anyone logged in; never who reported them or their
    photos, and a report's own text only to its reporter and staff."""
    return reads.room_repairs(conn, events.find_room(conn, room, site), viewer)


@router.get("/faults/{machine_type}/{machine_id}", response_model=MachineFaultsPublic)
def machine_faults(
    conn: ReadConnDep, viewer: CurrentUser, choice: RoomChoiceDep, machine_type: MachineKind, machine_id: MachineNumber
) -> MachineFaultsPublic:
    """How many reports are open on one machine, and whether it is out of service."""
    return reads.machine_faults(find_view(conn, choose_room(conn, choice), machine_type, machine_id))


@router.post("/machines/{machine_type}/{machine_id}/out-of-service", response_model=MachinePublic)
def take_out_of_service(
    tx: TxDep,
    staff: StaffUser,
    choice: RoomChoiceDep,
    machine_type: MachineKind,
    machine_id: MachineNumber,
    body: ServiceTakeOut,
) -> MachinePublic:
    """Take a machine out of service (staff); 409 ``already_out_of_service`` if it is."""
    view = find_view(tx.conn, choose_room(tx.conn, choice), machine_type, machine_id)
    if not out_of_service.take_out_of_service(tx, view.pk, reason=body.reason, by=staff.id):
        shown = Machine(machine_type.value, machine_id)
        raise Conflict(text("error.machine.already_out_of_service", machine=shown), code="already_out_of_service")
    return _fresh(tx.conn, view, staff.id)


@router.post("/machines/{machine_type}/{machine_id}/back-in-service", response_model=MachinePublic)
def put_back_in_service(
    tx: TxDep,
    staff: StaffUser,
    choice: RoomChoiceDep,
    machine_type: MachineKind,
    machine_id: MachineNumber,
    body: ServiceReturn | None = None,
) -> MachinePublic:
    """Put a machine back in service (staff); 409 ``already_in_service`` if it was not out."""
    view = find_view(tx.conn, choose_room(tx.conn, choice), machine_type, machine_id)
    if not out_of_service.put_back_in_service(tx, view.pk, by=staff.id, note=body.note if body else None):
        shown = Machine(machine_type.value, machine_id)
        raise Conflict(text("error.machine.already_in_service", machine=shown), code="already_in_service")
    return _fresh(tx.conn, view, staff.id)


def _machine_view(state: Runtime, choice: RoomChoice, kind: MachineKind, number: int) -> MachineView:
    with state.transactions.read() as conn:
        return find_view(conn, choose_room(conn, choice), kind, number)


def _store_photo(state: Runtime, photo: UploadFile | None) -> StoredPhoto | None:
    """Save the upload, or None when none was sent (a browser sends an empty, unnamed part)."""
    if photo is None or (not photo.filename and not photo.size):
        return None
    limit = state.settings.photo_max_bytes
    if photo.size is not None and photo.size > limit:
        raise photos.too_large(limit)  # known from the spooled upload: no need to read it
    photo.file.seek(0)
    return photos.save_photo(photo.file, Path(state.settings.photo_dir), max_bytes=limit)


def _discard_unsaved_photo(state: Runtime, stored: StoredPhoto) -> None:
    """The report failed: remove its photo, unless the report was committed after all.

    When the database cannot say (it is down), the photo stays: an orphan file is cheaper
    than a committed report whose photo is gone.
    """
    try:
        with state.transactions.read() as conn:
            kept = conn.execute(select(faults.c.id).where(faults.c.photo_file == stored.name)).first()
    except SQLAlchemyError:
        log.warning("could not check whether photo %s belongs to a saved report; keeping it", stored.name)
        return
    if kept is None:
        photos.delete_photo(Path(state.settings.photo_dir), stored.name)


def _fresh(conn: Connection, view: MachineView, viewer_id: int) -> MachinePublic:
    """The machine as it is now, inside the transaction that changed it."""
    (fresh,) = views_of(conn, machine_pks=[view.pk])
    return fresh.for_viewer(viewer_id)
