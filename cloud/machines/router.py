"""``/api/v1/machines`` and ``/api/v1/rooms``: the current state of a room, for students' phones."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from cloud.accounts.current import OptionalUser, bearer_token, viewer_for_token
from cloud.deps import CloudState, RoomChoiceDep, StateDep
from cloud.machines import service
from cloud.machines.schemas import MachinePublic, MachinesPublic, RoomPublic
from cloud.machines.service import RoomChoice
from cloud.tx import ReadConnDep
from kywash.contract import MachineKind

router = APIRouter(prefix="/api/v1", tags=["machines"])


@router.get("/machines/", response_model=MachinesPublic)
async def list_machines(request: Request, state: StateDep, choice: RoomChoiceDep) -> Response:
    """The washers and dryers of the room named by ``?site=&room=`` (or the only/default room).

    Public, so a screen in the laundry room can show it; with a token, your own claim and
    hold are marked (``mine``, ``reserved_for_me``). The most-read endpoint: the anonymous
    answer is cached until a machine changes, and each answer is built in one worker-thread
    call that takes and returns its database connection (see ``cloud/machines/cache.py``).
    """
    token = bearer_token(request)
    if token is not None:
        return _json(await run_in_threadpool(_machines_json, state, choice, token))
    key = ("machines", choice.site, choice.room)
    body = state.views.get(key)
    if body is None:
        generation = state.views.generation
        body = await run_in_threadpool(_machines_json, state, choice, None)
        state.views.put(key, body, generation)
    return _json(body)


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _machines_json(state: CloudState, choice: RoomChoice, token: str | None) -> bytes:
    with state.engine.connect().execution_options(kywash_readonly=True) as conn:
        viewer_id = None
        if token is not None:
            secret = state.settings.secret_key.get_secret_value()
            viewer_id = viewer_for_token(conn, secret, token, now_ts=state.clock.now()).id
        return service.machines_in(conn, service.choose_room(conn, choice), viewer_id).model_dump_json().encode()


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
