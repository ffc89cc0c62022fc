"""``/api/v1/machines`` and ``/api/v1/rooms``: the current state of a room, for students' phones."""

from __future__ import annotations

from fastapi import APIRouter, Path

from cloud.accounts.current import OptionalUser
from cloud.deps import RoomChoiceDep
from cloud.machines import service
from cloud.machines.schemas import MachinePublic, MachinesPublic, RoomPublic
from cloud.tx import ReadConnDep
from kywash.contract import MachineKind

router = APIRouter(prefix="/api/v1", tags=["machines"])


@router.get("/machines/", response_model=MachinesPublic)
def list_machines(conn: ReadConnDep, choice: RoomChoiceDep, viewer: OptionalUser) -> MachinesPublic:
    """The washers and dryers of the room named by ``?site=&room=`` (or the only/default room).

    Public, so a screen in the laundry room can show it; with a token, your own claim and
    hold are marked (``mine``, ``reserved_for_me``)."""
    return service.machines_in(conn, service.choose_room(conn, choice), viewer.id if viewer else None)


@router.get("/machines/{kind}/{number}", response_model=MachinePublic)
def get_machine(
    conn: ReadConnDep, choice: RoomChoiceDep, viewer: OptionalUser, kind: MachineKind, number: int = Path(ge=1)
) -> MachinePublic:
    """One machine by kind and the number on its label, e.g. ``/machines/washer/2``."""
    return service.find_machine(conn, service.choose_room(conn, choice), kind, number, viewer.id if viewer else None)


@router.get("/rooms", response_model=list[RoomPublic])
def list_rooms(conn: ReadConnDep, site: str | None = None) -> list[RoomPublic]:
    """Every registered room, with whether its edge is online and when it was last heard."""
    return service.list_rooms(conn, site)
