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

A connect is made cheap, since a whole room reconnects at once after a restart: the token's
session usually comes from the session cache (one shared query otherwise), and the room's
snapshot from the view cache (``cloud/domain/machines/cache.py``: cleared by every committed
machine or room change, before that change is sent to anyone), built once however many
clients ask at the same moment, with its anonymous text serialised once. Only a client
with a claim or hold in the room gets one rendered for it. Likewise each hub message is
serialised once (``SharedText``) for all the clients that see it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from cloud.api.auth import Viewer, authenticate, bearer_token
from cloud.api.deps import Runtime, StateDep
from cloud.api.server_clock import with_clock
from cloud.domain.machines import views
from cloud.domain.machines.schemas import RoomPublic
from cloud.domain.machines.views import MachineView
from cloud.platform.errors import CloudError
from cloud.platform.hub import Message, Subscriber
from cloud.platform.languages import reader_language
from cloud.processes.live_messages import VIEW_KEY, personalise, snapshot_message

router = APIRouter(tags=["realtime"])

CLOSE_GOING_AWAY: Final = 1001
CLOSE_SERVICE_RESTART: Final = 1012
CLOSE_TRY_AGAIN_LATER: Final = 1013
CLOSE_UNAUTHORIZED: Final = 4401
AUTH_TIMEOUT_S: Final = 10.0
CLOSE_CODES: Final = {"slow": CLOSE_TRY_AGAIN_LATER, "restart": CLOSE_SERVICE_RESTART}
"""How a stream the hub let go of is closed, by why (the display stream closes the same way)."""
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
        site,
        room,
        user_id=viewer.id,
        is_staff=viewer.is_staff,
        session_id=viewer.session_id,
        language=reader_language(viewer.language, websocket.headers.get("accept-language")),
    )
    try:
        snapshot = await _room_snapshot(state, site, room)
        await websocket.send_text(with_clock(snapshot.text_for(viewer.id), state.clock))
        forward = asyncio.create_task(_forward(websocket, subscriber, viewer.id))
        watch = asyncio.create_task(watch_for_close(websocket))
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


def to_text(message: Message) -> str:
    """A message as ``WebSocket.send_json`` would write it."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class RoomSnapshot:
    """The rooms and machine views of a ``?site=&room=`` filter, with the anonymous snapshot's text."""

    rooms: list[RoomPublic]
    views: list[MachineView]
    anonymous: str

    @classmethod
    def of(cls, rooms: list[RoomPublic], machines: list[MachineView]) -> RoomSnapshot:
        return cls(rooms, machines, to_text(snapshot_message(rooms, machines, None)))

    def text_for(self, user_id: int) -> str:
        """The anonymous text, unless ``user_id`` holds a claim or a hold here."""
        if all(user_id not in (view.claim_user_id, view.hold_user_id) for view in self.views):
            return self.anonymous
        return to_text(snapshot_message(self.rooms, self.views, user_id))


async def _room_snapshot(state: Runtime, site: str | None, room: str | None) -> RoomSnapshot:
    """From the view cache; on a miss, one database read for every client connecting meanwhile."""
    found: RoomSnapshot = await state.views.get_or_build(
        ("snapshot", site, room), functools.partial(run_in_threadpool, _read_snapshot, state, site, room)
    )
    return found


def _read_snapshot(state: Runtime, site: str | None, room: str | None) -> RoomSnapshot:
    with state.engine.connect().execution_options(kywash_readonly=True) as conn:
        return RoomSnapshot.of(*views.snapshot(conn, site, room))


class SharedText:
    """The text of hub messages, serialised once for all the clients that see one the same way.

    The hub hands the same message object to every client it is for, so the text is kept
    by the object's identity (the entry holds the object, so its id is not reused) for the
    last ``size`` messages; a client further behind than that has its text made again.
    A machine message's text is its anonymous rendering: its claimant and holder each get
    theirs rendered for them (``is_personal``).
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._texts: OrderedDict[int, tuple[Message, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.serialised = 0
        """How many texts were made (not how many were sent)."""

    def text(self, message: Message) -> str:
        entry = self._texts.get(id(message))
        if entry is not None and entry[0] is message:
            return entry[1]
        text = to_text(personalise(message, None))
        with self._lock:
            self.serialised += 1
            self._texts[id(message)] = (message, text)
            while len(self._texts) > self.size:
                self._texts.popitem(last=False)
        return text


def is_personal(message: Message, user_id: int) -> bool:
    """Whether ``user_id`` sees ``message`` differently from everyone else (their claim or hold)."""
    view = message.get(VIEW_KEY)
    return view is not None and user_id in (view.claim_user_id, view.hold_user_id)


shared_text = SharedText()


async def _forward(websocket: WebSocket, subscriber: Subscriber, user_id: int) -> None:
    """Send hub messages until the hub lets go (slow client, or shutdown), then close."""
    while (message := await subscriber.next()) is not None:
        if is_personal(message, user_id):
            await websocket.send_json(personalise(message, user_id))
        else:
            await websocket.send_text(shared_text.text(message))
    if subscriber.ended == "session_ended":
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="session ended")
        return
    code = CLOSE_CODES.get(subscriber.ended or "", CLOSE_GOING_AWAY)
    await websocket.close(code=code, reason=f"resync: {subscriber.ended}")


async def watch_for_close(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
