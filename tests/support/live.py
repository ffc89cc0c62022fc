"""A live stack for end-to-end tests: start it, poll its REST API, read WebSocket messages until one matches."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

Message = dict[str, Any]


def wait_for_machines(base_url: str, site: str, room: str, count: int = 12, timeout: float = 30) -> Message:
    """Poll ``/api/v1/machines/`` until the room's ``count`` machines are known."""
    deadline = time.monotonic() + timeout
    body: Message = {}
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/api/v1/machines/", params={"site": site, "room": room}, timeout=5)
        except httpx.TransportError:  # not listening yet
            time.sleep(0.2)
            continue
        if response.status_code == 200:
            body = response.json()
            if len(body.get("washers", [])) + len(body.get("dryers", [])) == count:
                return body
        time.sleep(0.1)
    raise AssertionError(f"room {site}/{room} never showed {count} machines; last answer {body}")


def next_matching(ws: Any, predicate: Callable[[Message], bool], timeout: float = 10) -> Message:
    """Read WebSocket messages until one satisfies ``predicate``."""
    deadline = time.monotonic() + timeout
    seen: list[Message] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            message: Message = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if predicate(message):
            return message
        seen.append(message)
    raise AssertionError(f"no matching WebSocket message in {timeout}s; saw {seen[-5:]}")


def machine_update(machine_id: str, **fields: object) -> Callable[[Message], bool]:
    def matches(message: Message) -> bool:
        body = message.get("machine")
        return (
            message.get("type") == "machine"
            and isinstance(body, dict)
            and body.get("id") == machine_id
            and all(body.get(k) == v for k, v in fields.items())
        )

    return matches


@dataclass
class LiveSystem:
    """A cloud web server and a simulated room with its real edge agent, sharing one clock."""

    server: Any
    room: Any
    site: str
    room_id: str = "room-1"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/api/ws?site={self.site}&room={self.room_id}"


@contextmanager
def live_system(broker_url: str, database_url: str, data_dir: Path, site: str, *, speed: float) -> Iterator[LiveSystem]:
    """Cloud + simulated room (no students), up once the cloud knows the room's 12 machines."""
    from cloud.app import create_app
    from cloud.server import serve
    from cloud.settings import CloudSettings
    from kywash.broker import free_port
    from kywash.clock import ScaledClock
    from kywash.stack import SimulatedRoom

    clock = ScaledClock(speed=speed)
    settings = CloudSettings(database_url=database_url, mqtt_url=broker_url)
    with (
        serve(create_app(settings, clock=clock), port=free_port()) as server,
        SimulatedRoom(site, "room-1", broker_url, data_dir / "edge", clock, students=False) as room,
    ):
        wait_for_machines(server.url, site, "room-1")
        yield LiveSystem(server, room, site)
