"""``/api/ws``: a snapshot on connect, then every room and machine change as it happens.

The client subscribes to the hub *before* the snapshot is read, so no change can fall
between the two (one may arrive twice, which is harmless: messages carry full objects).
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from cloud.deps import CloudState, StateDep
from cloud.machines import service
from cloud.realtime.hub import Message, Subscriber
from cloud.realtime.messages import snapshot_message

router = APIRouter(tags=["realtime"])

CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013


@router.websocket("/api/ws")
async def stream(websocket: WebSocket, state: StateDep, site: str | None = None, room: str | None = None) -> None:
    await websocket.accept()
    subscriber = state.hub.subscribe(site, room)
    try:
        await websocket.send_json(await run_in_threadpool(_snapshot, state, site, room))
        forward = asyncio.create_task(_forward(websocket, subscriber))
        watch = asyncio.create_task(_watch(websocket))
        await asyncio.wait({forward, watch}, return_when=asyncio.FIRST_COMPLETED)
        for task in (forward, watch):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await task  # also collects a finished task's error: the client is gone either way
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.unsubscribe(subscriber)


def _snapshot(state: CloudState, site: str | None, room: str | None) -> Message:
    with state.engine.connect() as conn:
        return snapshot_message(*service.snapshot(conn, site, room))


async def _forward(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Send hub messages until the hub lets go (slow client, or shutdown), then close."""
    while (message := await subscriber.next()) is not None:
        await websocket.send_json(message)
    code = CLOSE_TRY_AGAIN_LATER if subscriber.ended == "slow" else CLOSE_GOING_AWAY
    await websocket.close(code=code, reason=f"resync: {subscriber.ended}")


async def _watch(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
