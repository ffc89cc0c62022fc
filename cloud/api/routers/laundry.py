"""``/api/v1/machines/start|cancel|end`` and ``/api/v1/waitlist``: what a student does.

Paths and bodies are the original KY Wash API's. A room is picked by the body's ``room``
(``"room"`` or ``"site/room"``) or ``?site=&room=``, defaulting to the only room.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import Connection

from cloud.api.auth import CurrentUser, Viewer
from cloud.api.deps import ReadConnDep, RoomChoiceDep, TxDep
from cloud.api.schemas.laundry import (
    ClaimResult,
    MachineRequest,
    RoomFields,
    StartRequest,
    WaitlistEntryPublic,
    WaitlistPublic,
    WaitlistRequest,
)
from cloud.domain.laundry import claims, store, waitlist
from cloud.domain.laundry.store import ClaimRecord, MachineRef
from cloud.domain.machines import views
from cloud.domain.machines.schemas import ClaimPublic
from cloud.domain.machines.views import RoomChoice
from cloud.platform.errors import NotFound
from cloud.platform.storage.repository import RoomRecord
from cloud.platform.texts import text
from cloud.platform.unit_of_work import Tx
from kywash.contract import MachineKind

router = APIRouter(prefix="/api/v1", tags=["claims and waitlists"])


def _room(conn: Connection, body: RoomFields, choice: RoomChoice) -> RoomRecord:
    site, room = body.site or choice.site, body.room or choice.room
    if body.room and "/" in body.room:
        site, room = body.room.split("/", 1)
    chosen = views.choose_room(conn, RoomChoice(site, room, choice.default_site, choice.default_room))
    if chosen is None:
        raise NotFound(text("error.room.none_yet"), code="no_room")
    return chosen


def _machine(tx: Tx, body: MachineRequest, choice: RoomChoice) -> MachineRef:
    room = _room(tx.conn, body, choice)
    for machine in store.machine_refs(tx.conn, room_id=room.id, kind=body.machine_type.value):
        if machine.number == body.machine_id:
            return machine
    kind = text(f"kind.{body.machine_type.value}")
    missing = text("error.machine.no_such_number_in", kind=kind, number=body.machine_id, site=room.site, room=room.room)
    raise NotFound(missing, code="no_such_machine")


def _result(tx: Tx, machine: MachineRef, claim: ClaimRecord, viewer: Viewer, message: str) -> ClaimResult:
    view = views.views_of(tx.conn, machine_pks=[machine.pk])[0]
    public = ClaimPublic(
        id=claim.id,
        status=claim.status.value,
        category=claim.category,
        created_at=claim.created_at,
        confirm_by=claim.confirm_by,
        started_at=claim.started_at,
        finished_at=claim.finished_at,
    )
    return ClaimResult(message=message, claim=public, machine=view.for_viewer(viewer.id))


@router.post("/machines/start", response_model=ClaimResult, status_code=status.HTTP_201_CREATED)
def start(body: StartRequest, tx: TxDep, viewer: CurrentUser, choice: RoomChoiceDep) -> ClaimResult:
    """Claim a free machine. It becomes yours when the sensors see it start (within
    ``claim_confirm_minutes``); a machine held for someone on the waitlist is refused (409)."""
    machine = _machine(tx, body, choice)
    claim = claims.start(tx, machine, viewer, body.category)
    minutes = tx.settings.claim_confirm_minutes
    return _result(
        tx,
        machine,
        claim,
        viewer,
        f"{machine.name.capitalize()} is yours once it starts: start it within {minutes:g} minutes",
    )


@router.post("/machines/cancel", response_model=ClaimResult)
def cancel(body: MachineRequest, tx: TxDep, viewer: CurrentUser, choice: RoomChoiceDep) -> ClaimResult:
    """Withdraw your claim before the machine starts."""
    machine = _machine(tx, body, choice)
    claim = claims.cancel(tx, machine, viewer)
    return _result(tx, machine, claim, viewer, f"your claim on {machine.name} is cancelled")


@router.post("/machines/end", response_model=ClaimResult)
def end(body: MachineRequest, tx: TxDep, viewer: CurrentUser, choice: RoomChoiceDep) -> ClaimResult:
    """End your claim once the sensors agree the machine is not running (staff: any claim, any time)."""
    machine = _machine(tx, body, choice)
    claim = claims.end(tx, machine, viewer)
    return _result(tx, machine, claim, viewer, f"{machine.name} is free for the next student")


def _waitlist(conn: Connection, room: RoomRecord, kind: MachineKind, viewer: Viewer) -> WaitlistPublic:
    entries = []
    my_position = None
    refs = {m.pk: m.machine_id for m in store.machine_refs(conn, room_id=room.id, kind=kind.value)}
    for position, (entry, student_id) in enumerate(store.live_entries(conn, room.id, kind.value), start=1):
        mine = entry.user_id == viewer.id
        if mine:
            my_position = position
        entries.append(
            WaitlistEntryPublic(
                position=position,
                status=entry.status,
                joined_at=entry.joined_at,
                mine=mine,
                hold_until=entry.hold_until if mine or viewer.is_staff else None,
                machine=refs.get(entry.offered_machine_pk or -1) if mine or viewer.is_staff else None,
                student_id=student_id if viewer.is_staff else None,
            )
        )
    return WaitlistPublic(
        site=room.site, room=room.room, kind=kind, length=len(entries), my_position=my_position, entries=entries
    )


@router.get("/waitlist/{machine_type}", response_model=WaitlistPublic)
def show(
    machine_type: MachineKind,
    conn: ReadConnDep,
    viewer: CurrentUser,
    choice: RoomChoiceDep,
) -> WaitlistPublic:
    """The waitlist of a machine type, in order, with your position (others stay anonymous)."""
    room = _room(conn, RoomFields(), choice)
    return _waitlist(conn, room, machine_type, viewer)


@router.post("/waitlist/join", response_model=WaitlistPublic, status_code=status.HTTP_201_CREATED)
def join(body: WaitlistRequest, tx: TxDep, viewer: CurrentUser, choice: RoomChoiceDep) -> WaitlistPublic:
    """Queue for the next free machine of a type; when one frees up it is held for the head."""
    room = _room(tx.conn, body, choice)
    waitlist.join(tx, room, body.machine_type.value, viewer.id)
    return _waitlist(tx.conn, room, body.machine_type, viewer)


@router.post("/waitlist/leave", response_model=WaitlistPublic)
def leave(body: WaitlistRequest, tx: TxDep, viewer: CurrentUser, choice: RoomChoiceDep) -> WaitlistPublic:
    room = _room(tx.conn, body, choice)
    waitlist.leave(tx, room, body.machine_type.value, viewer.id)
    return _waitlist(tx.conn, room, body.machine_type, viewer)
