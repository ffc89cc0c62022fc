"""``/api/ws/display/{site}/{room}``: the wall display's live stream, anonymous and for one room.

No token: the display is a screen anyone can read, so it gets only what anyone may see,
built from the allow-list models of ``cloud.domain.rooms.display`` — no claimant, holder,
waiting student or reporter, no ``mine``, no notifications. First a snapshot of the room
(read fresh on each connect: there are a few displays per room, not thousands, and the
waitlist lengths are not in the view cache), then each change of that room only, its text
made once for every display of the room (``DisplayTexts``). An unknown room closes with
4404; when the hub lets go (a slow client, a restart) the socket closes and the page
reconnects and resyncs from a new snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from cloud.api.deps import Runtime, StateDep
from cloud.api.routers.websocket import CLOSE_CODES, CLOSE_GOING_AWAY, watch_for_close
from cloud.api.server_clock import clock_rate
from cloud.domain.rooms.display import DisplaySnapshotMessage, display_snapshot
from cloud.platform.errors import NotFound
from cloud.platform.hub import Subscriber
from cloud.processes.display_messages import DisplayTexts, to_text
from kywash.clock import to_datetime

router = APIRouter(tags=["realtime"])

CLOSE_NO_SUCH_ROOM: Final = 4404

display_texts = DisplayTexts()


@router.websocket("/api/ws/display/{site}/{room}")
async def display_stream(websocket: WebSocket, state: StateDep, site: str, room: str) -> None:
    await websocket.accept()
    subscriber = state.hub.subscribe(site, room)  # before the snapshot: no change falls between the two
    try:
        try:
            snapshot = await run_in_threadpool(_read_snapshot, state, site, room)
        except NotFound as exc:
            await websocket.close(code=CLOSE_NO_SUCH_ROOM, reason=str(exc)[:120])
            return
        await websocket.send_text(to_text(snapshot))
        forward = asyncio.create_task(_forward(websocket, subscriber))
        watch = asyncio.create_task(watch_for_close(websocket))
        await asyncio.wait({forward, watch}, return_when=asyncio.FIRST_COMPLETED)
        for task in (forward, watch):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await task
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.unsubscribe(subscriber)


def _read_snapshot(state: Runtime, site: str, room: str) -> DisplaySnapshotMessage:
    with state.engine.connect().execution_options(kywash_readonly=True) as conn:
        now = to_datetime(state.clock.now())
        return display_snapshot(conn, site, room, now, state.settings.timezone_of(site), clock_rate(state.clock))


async def _forward(websocket: WebSocket, subscriber: Subscriber) -> None:
    while (message := await subscriber.next()) is not None:
        text = display_texts.text(message)
        if text is not None:
            await websocket.send_text(text)
    code = CLOSE_CODES.get(subscriber.ended or "", CLOSE_GOING_AWAY)
    await websocket.close(code=code, reason=f"resync: {subscriber.ended}")
