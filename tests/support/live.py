"""A live stack for end-to-end tests: start it, poll its REST API, log in and read WebSocket messages.

``/api/ws`` needs an access token; ``issue_access_token`` makes one the way a login would
(a user row, a session, a token pair) directly in the cloud's database, so these tests
do not depend on the accounts API and work whether the cloud runs in-process or not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cloud.platform.settings import CloudSettings

Message = dict[str, Any]
WATCHER_STUDENT_ID = "900001"
"""The student whose phone the end-to-end tests watch the room with."""


def wait_for_machines(base_url: str, site: str, room: str, count: int = 12, timeout: float = 30) -> Message:
    """Poll ``/api/v1/machines/`` until the room's ``count`` machines are listed and each has a
    state from its sensors: an edge's info registers them a moment before their states come,
    and a page opened in between would show the room "unknown" until its next poll."""
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
            listed = body.get("washers", []) + body.get("dryers", [])
            if len(listed) == count and all(machine.get("state") != "unknown" for machine in listed):
                return body
        time.sleep(0.1)
    raise AssertionError(f"room {site}/{room} never showed {count} machines with states; last answer {body}")


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


def issue_access_token(
    engine: Engine, settings: CloudSettings, now: float, *, student_id: str = WATCHER_STUDENT_ID
) -> str:
    """A fresh access token of the student ``student_id`` (created on first use) in the cloud's database.

    ``engine`` and ``settings`` must be the server's (same database, same secret key);
    ``now`` is on the server's clock, which may run faster than real time.
    """
    from cloud.domain.accounts.sessions import start_session
    from cloud.domain.accounts.users import create_user, find_by_login
    from cloud.platform.viewer import STUDENT
    from kywash.clock import to_datetime

    at = to_datetime(now)
    with engine.begin() as conn:
        user = find_by_login(conn, student_id=student_id)
        if user is None:
            user = create_user(conn, role=STUDENT, secret="1234", now=at, student_id=student_id)
        return start_session(conn, settings, user.id, at).access_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class LiveSystem:
    """A cloud web server and a simulated room with its real edge agent, sharing one clock."""

    server: Any
    room: Any
    site: str
    cloud: Any
    """The running app's ``CloudState`` (database, settings, clock)."""
    room_id: str = "room-1"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/api/ws?site={self.site}&room={self.room_id}"

    def access_token(self, student_id: str = WATCHER_STUDENT_ID) -> str:
        cloud = self.cloud
        return issue_access_token(cloud.engine, cloud.settings, cloud.clock.now(), student_id=student_id)

    def connect_ws(self, student_id: str = WATCHER_STUDENT_ID) -> Any:
        """A ``websockets`` client of the room's stream, logged in as ``student_id``."""
        from websockets.sync.client import connect

        return connect(self.ws_url, additional_headers=bearer(self.access_token(student_id)), open_timeout=10)


@contextmanager
def live_system(broker_url: str, database_url: str, data_dir: Path, site: str, *, speed: float) -> Iterator[LiveSystem]:
    """Cloud + simulated room (no students), up once the cloud knows the room's 12 machines."""
    from cloud.platform.settings import CloudSettings
    from cloud.runtime.app import create_app
    from cloud.runtime.server import serve
    from kywash.clock import ScaledClock
    from launchers.broker import free_port
    from launchers.stack import SimulatedRoom

    clock = ScaledClock(speed=speed)
    # The clock runs ``speed`` times faster: a day-long access token lasts 1440 / speed real minutes.
    settings = CloudSettings(database_url=database_url, mqtt_url=broker_url, access_token_minutes=24 * 60)
    app = create_app(settings, clock=clock)
    with (
        serve(app, port=free_port()) as server,
        SimulatedRoom(site, "room-1", broker_url, data_dir / "edge", clock, students=False) as room,
    ):
        wait_for_machines(server.url, site, "room-1")
        yield LiveSystem(server, room, site, app.state.cloud)
