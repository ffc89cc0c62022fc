"""``/api/ws``: authenticate, then a snapshot, then every change this user may see as it happens.

The access token comes in the ``Authorization: Bearer`` header (scripts, tests) or, since
browsers cannot set headers on a WebSocket, as the first message ``{"type": "auth",
"token": "..."}`` within ``AUTH_TIMEOUT_S`` — never in the URL, where it would end up in
logs. A bad token closes the socket with 4401; the page logs in again.

The client subscribes to the hub *before* the snapshot is read, so no change can fall
between the two (one may arrive twice, which is harmless: messages carry full objects).

What may come down the socket is ``cloud.api.websocket_messages.ServerMessage``, one
model per ``type``, which ``docs/websocket.md`` is tested against. Messages are sent as
their producers built them, not validated again here: this loop serves every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Final

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from cloud.api.auth import Viewer, authenticate, bearer_token
from cloud.api.deps import Runtime, StateDep
from cloud.domain.machines import views
from cloud.platform.errors import CloudError
from cloud.platform.hub import Message, Subscriber
from cloud.processes.live_messages import personalise, snapshot_message

router = APIRouter(tags=["realtime"])

CLOSE_GOING_AWAY: Final = 1001
CLOSE_SERVICE_RESTART: Final = 1012
CLOSE_TRY_AGAIN_LATER: Final = 1013
CLOSE_UNAUTHORIZED: Final = 4401
AUTH_TIMEOUT_S: Final = 10.0
_CLOSE_CODES: Final = {"slow": CLOSE_TRY_AGAIN_LATER, "restart": CLOSE_SERVICE_RESTART}
"""Why the hub let a client go -> the close code; otherwise (shutdown) 1001. All three mean: reconnect."""


@router.websocket("/api/ws")
async def stream(websocket: WebSocket, state: StateDep, site: str | None = None, room: str | None = None) -> None:
    await websocket.accept()
    try:
        viewer = await _authenticate(websocket, state)
    except (CloudError, TimeoutError, ValueError, KeyError, TypeError) as exc:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=CLOSE_UNAUTHORIZED, reason=str(exc)[:100] or "log in first")
        return
    except WebSocketDisconnect:
        return
    subscriber = state.hub.subscribe(
        site, room, user_id=viewer.id, is_staff=viewer.is_staff, session_id=viewer.session_id
    )
    try:
        await websocket.send_json(await run_in_threadpool(_snapshot, state, site, room, viewer.id))
        forward = asyncio.create_task(_forward(websocket, subscriber, viewer.id))
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


async def _authenticate(websocket: WebSocket, state: Runtime) -> Viewer:
    token = bearer_token(websocket)
    if token is None:
        raw = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S)
        first = json.loads(raw)
        if not isinstance(first, dict) or first.get("type") != "auth" or not isinstance(first.get("token"), str):
            raise ValueError('send {"type": "auth", "token": "<access token>"} first')
        token = first["token"]
    return await authenticate(state, token)


def _snapshot(state: Runtime, site: str | None, room: str | None, user_id: int) -> Message:
    with state.engine.connect().execution_options(kywash_readonly=True) as conn:
        return snapshot_message(*views.snapshot(conn, site, room), user_id)


async def _forward(websocket: WebSocket, subscriber: Subscriber, user_id: int) -> None:
    """Send hub messages until the hub lets go (slow client, or shutdown), then close."""
    while (message := await subscriber.next()) is not None:
        await websocket.send_json(personalise(message, user_id))
    if subscriber.ended == "session_ended":
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="session ended")
        return
    code = _CLOSE_CODES.get(subscriber.ended or "", CLOSE_GOING_AWAY)
    await websocket.close(code=code, reason=f"resync: {subscriber.ended}")


async def _watch(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
