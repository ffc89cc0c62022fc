"""The laundry room's wall display: its page, the QR code of each machine, and the claim deep link.

``/display/{site}/{room}`` is a page for a tablet or TV in the room (no login; it follows
``/api/ws/display/{site}/{room}``). Each machine's QR code, ``/display/{site}/{room}/qr/{machine}.svg``,
holds the link ``/claim/{site}/{room}/{machine}``, which serves the web app: its router
opens that machine's claim choices (after a login when needed). The link's address is
``KYWASH_PUBLIC_URL`` when set, else the one this request came in on.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from cloud.api.deps import Runtime, StateDep
from cloud.api.web import STATIC_DIR
from cloud.domain.rooms.claim_links import claim_url, machine_title, qr_svg
from cloud.platform.errors import NotFound
from cloud.platform.storage import repository as repo
from cloud.platform.texts import text

router = APIRouter(include_in_schema=False)

NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/display/{site}/{room}")
def display_page(site: str, room: str) -> FileResponse:
    """The page is the same for every room: it reads its room from its own path."""
    return FileResponse(STATIC_DIR / "display.html", headers=NO_CACHE)


@router.get("/claim/{site}/{room}/{machine}")
def claim_page(site: str, room: str, machine: str) -> FileResponse:
    """The web app itself; ``router.js`` reads the machine from the path."""
    return FileResponse(STATIC_DIR / "index.html", headers=NO_CACHE)


@router.get("/display/{site}/{room}/qr/{machine}.svg")
async def machine_qr(site: str, room: str, machine: str, request: Request, state: StateDep) -> Response:
    title = await run_in_threadpool(_machine_title, state, site, room, machine)
    base = state.settings.public_url or str(request.base_url)
    svg = qr_svg(claim_url(base, site, room, machine), f"Scan to claim {title}")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


def _machine_title(state: Runtime, site: str, room: str, machine: str) -> str:
    with state.engine.connect().execution_options(kywash_readonly=True) as conn:
        found = repo.find_room(conn, site, room)
        record = repo.find_machine(conn, found.id, machine) if found is not None else None
    if record is None:
        raise NotFound(text("error.machine.no_such_id", machine=machine, site=site, room=room), code="no_such_machine")
    return machine_title(record.kind, record.number)
