"""``/api/v1/machines`` and ``/api/v1/rooms``: the current state of a room, for students' phones."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from cloud.api.auth import OptionalUser, authenticate, bearer_token
from cloud.api.deps import ReadConnDep, RoomChoiceDep, Runtime, SettingsDep, StateDep
from cloud.api.server_clock import CLOCK_FIELDS, with_clock_bytes
from cloud.domain.machines import views
from cloud.domain.machines.schemas import MachinePublic, MachinesPublic, RoomPublic
from cloud.domain.machines.views import MachineView, RoomChoice
from kywash.contract import MachineKind

router = APIRouter(prefix="/api/v1", tags=["machines"])


@router.get("/machines/", response_model=MachinesPublic)
async def list_machines(request: Request, state: StateDep, choice: RoomChoiceDep) -> Response:
    """The washers and dryers of the room named by ``?site=&room=`` (or the only/default room).

    Public, so a screen in the laundry room can show it; with a token, your own claim and
    hold are marked (``mine``, ``reserved_for_me``). The most-read endpoint: a room's views
    are cached until a machine changes (``cloud/domain/machines/cache.py``), and database work
    happens in single worker-thread calls that take and return their own connection. The
    server's now and rate are this answer's own, added to the cached text as it is sent: a
    logged-out page counts on them as a logged-in one does on the snapshot's.
    """
    token = bearer_token(request)
    viewer_id = (await authenticate(state, token)).id if token is not None else None
    key = ("machines", choice.site, choice.room)
    room: RoomMachines | None = state.views.get(key)
    if room is None:
        generation = state.views.generation
        room = await run_in_threadpool(_room_machines, state, choice)
        state.views.put(key, room, generation)
    return Response(with_clock_bytes(room.json_for(viewer_id), state.clock), media_type="application/json")


@dataclass(frozen=True, slots=True)
class RoomMachines:
    """A room's machine views and their anonymous listing's text, without the clock's fields."""

    views: list[MachineView]
    anonymous: bytes
    timezone: str | None = None

    def json_for(self, viewer_id: int | None) -> bytes:
        """The anonymous bytes, unless the viewer holds a claim or a hold here."""
        if viewer_id is None or all(viewer_id not in (v.claim_user_id, v.hold_user_id) for v in self.views):
            return self.anonymous
        return _text(views.listing(self.views, viewer_id, self.timezone))


def _room_machines(state: Runtime, choice: RoomChoice) -> RoomMachines:
    with state.transactions.read() as conn:
        room = views.choose_room(conn, choice)
        found = [] if room is None else views.views_of(conn, room_ids=[room.id])
    timezone = state.settings.timezone_of(room.site) if room is not None else state.settings.timezone
    return RoomMachines(found, _text(views.listing(found, None, timezone)), timezone)


def _text(listing: MachinesPublic) -> bytes:
    return listing.model_dump_json(exclude=set(CLOCK_FIELDS)).encode()


@router.get("/machines/{kind}/{number}", response_model=MachinePublic)
def get_machine(
    conn: ReadConnDep, choice: RoomChoiceDep, viewer: OptionalUser, kind: MachineKind, number: int = Path(ge=1)
) -> MachinePublic:
    """One machine by kind and the number on its label, e.g. ``/machines/washer/2``."""
    return views.find_machine(conn, views.choose_room(conn, choice), kind, number, viewer.id if viewer else None)


@router.get("/rooms", response_model=list[RoomPublic])
def list_rooms(conn: ReadConnDep, settings: SettingsDep, site: str | None = None) -> list[RoomPublic]:
    """Every registered room, with whether its edge is online, when it was last heard, and the
    time zone its times are shown in."""
    return [r.model_copy(update={"timezone": settings.timezone_of(r.site)}) for r in views.list_rooms(conn, site)]
