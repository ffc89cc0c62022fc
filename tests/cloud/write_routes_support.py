"""A real cloud server on a socket, and a ``Stage`` for "write, then read at once" scenarios.

``LiveCloud`` runs the app under uvicorn on a thread (``cloud.runtime.server.serve``) and talks to it
with a plain ``httpx.Client``, so a response really reaches the client before or after the
write's COMMIT. Inside ``Stage.race()`` every COMMIT of the app's engine takes
``SLOW_COMMIT_S`` longer (a real SQLAlchemy ``commit`` listener, which runs before the
database's own COMMIT): a route that answered before committing is caught by the read after it.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Connection, event
from starlette.testclient import TestClient

from cloud.domain.notifications.send import notify
from cloud.platform.settings import CloudSettings
from cloud.platform.viewer import STAFF, STUDENT
from cloud.runtime.app import create_app
from cloud.runtime.server import RunningServer, serve
from cloud.runtime.state import CloudState
from kywash.clock import FakeClock
from launchers.broker import free_port
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge, Message
from tests.cloud.laundry_support import SENSOR_EVENTS

SLOW_COMMIT_S = 0.3
"""How long each COMMIT waits during a race: far longer than a read takes."""
API = "/api/v1"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STAFF_PASSWORD = "staff-password-123"
"""``make_account``'s staff password."""


def write_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path template) of every write under /api/ in the app's OpenAPI."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in operations
        if method.upper() in WRITE_METHODS
    }


def route_pattern(path: str) -> re.Pattern[str]:
    """``/api/v1/faults/{fault_id}/resolve`` as a regex matching a concrete path."""
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


@dataclass
class LiveCloud:
    """The app served on 127.0.0.1, and a client of it (one per scenario: fresh database, fresh server)."""

    app: FastAPI
    server: RunningServer
    http: httpx.Client
    slow_commits: threading.Event
    """Set: every COMMIT of the app's engine first sleeps ``SLOW_COMMIT_S``."""
    handle: TestClient
    """For ``make_account``, which only reads ``handle.app.state.cloud``: it never sends a request
    (and never runs the lifespan: that is the uvicorn server's)."""
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(100_001))

    @property
    def state(self) -> CloudState:
        state: CloudState = self.app.state.cloud
        return state

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """uvicorn's event loop: the one the app (and its ingest) runs on."""
        return self.server.server.servers[0].get_loop()

    def feed(self, *messages: Message) -> None:
        """Hand messages to the running app's ingest on its own loop, as if from the broker."""
        for topic, payload in messages:
            asyncio.run_coroutine_threadsafe(self.state.ingest.handle(topic, payload), self.loop).result(10)


@contextmanager
def live_cloud(database_url: str, photo_dir: Path) -> Iterator[LiveCloud]:
    settings = CloudSettings(
        database_url=database_url,
        ingest_enabled=False,
        timer_loop=False,  # nothing fires behind a scenario's back
        web_push=True,  # POST /push/subscriptions answers 404 without a VAPID key
        photo_dir=str(photo_dir),
    )
    app = create_app(settings, clock=FakeClock())
    slow_commits = threading.Event()

    def slow_commit(conn: Connection) -> None:
        # Runs in the connection's commit, before the database's own COMMIT. Attached for the
        # server's whole life and switched by the event: removing a listener while another
        # thread's commit iterates the listeners would break that commit.
        if slow_commits.is_set():
            time.sleep(SLOW_COMMIT_S)

    event.listen(app.state.cloud.engine, "commit", slow_commit)
    handle = TestClient(app)
    try:
        with serve(app, "127.0.0.1", free_port()) as server, httpx.Client(base_url=server.url, timeout=10) as http:
            yield LiveCloud(app, server, http, slow_commits, handle)
    finally:
        handle.close()


@dataclass
class Stage:
    """One scenario's world: fresh accounts, its own room, and the race window."""

    cloud: LiveCloud
    edge: FakeEdge = field(default_factory=lambda: FakeEdge(site=f"w{uuid.uuid4().hex[:10]}", room="laundry"))
    raced: list[tuple[str, str]] = field(default_factory=list)
    """(method, path) of the requests sent inside ``race()``; the first is the write."""
    _racing: bool = False
    _room_open: bool = False

    # --- setup (before the race: commits at full speed) -----------------------------------

    def student(self) -> Account:
        return make_account(self.cloud.handle, str(next(self.cloud.numbers)), role=STUDENT)

    def staff(self) -> Account:
        return make_account(self.cloud.handle, f"staff{next(self.cloud.numbers)}", role=STAFF, secret=STAFF_PASSWORD)

    def fresh_student_id(self) -> str:
        return str(next(self.cloud.numbers))

    def open_room(self) -> None:
        """This stage's room registered and online, every machine idle with its door shut.
        From now on every request names the room (``?site=&room=``)."""
        edge = self.edge
        self.cloud.feed(edge.info(), edge.status(online=True), *(edge.state(m.id) for m in edge.machines))
        self._room_open = True

    def sensors(self, machine: str, what: str) -> None:
        """The room's edge reports ``what`` (start, finish, open, ...) on ``machine``."""
        type_, state, door = SENSOR_EVENTS[what]
        current = 9.5 if what in ("start", "pause") else 0.0
        self.cloud.feed(self.edge.event(machine, type_, state, door=door, current_a=current))

    def notify(self, account: Account, title: str) -> int:
        """A notification for ``account``, written the way domain code writes one."""
        return self.cloud.state.transactions.run(
            lambda tx: notify(tx, account.id, "cycle_finished", title, "Collect it.")
        )

    # --- requests --------------------------------------------------------------------------

    @property
    def room_params(self) -> dict[str, str]:
        return {"site": self.edge.site, "room": self.edge.room} if self._room_open else {}

    def request(self, method: str, path: str, account: Account | None = None, **kwargs: Any) -> httpx.Response:
        """``path`` under /api/v1, as ``account``, naming this stage's room once it is open."""
        headers = {**(account.headers if account else {}), **kwargs.pop("headers", {})}
        params = {**self.room_params, **kwargs.pop("params", {})}
        if self._racing:
            self.raced.append((method.upper(), API + path))
        return self.cloud.http.request(method, API + path, headers=headers, params=params, **kwargs)

    def post(self, path: str, account: Account | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, account, **kwargs)

    def get(self, path: str, account: Account | None = None, *, status: int = 200, **kwargs: Any) -> Any:
        """GET ``path``: its JSON body, once it answered ``status``."""
        response = self.request("GET", path, account, **kwargs)
        assert response.status_code == status, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def db(self) -> Connection:
        """A read-only connection from the app's own pool, as a GET route gets one."""
        return self.cloud.state.engine.connect().execution_options(kywash_readonly=True)

    # --- the race --------------------------------------------------------------------------

    @contextmanager
    def race(self) -> Iterator[None]:
        """Every COMMIT takes ``SLOW_COMMIT_S`` while inside: a write must have committed before
        its response (and so before the read after it), or that read misses it."""
        self.cloud.slow_commits.set()
        self._racing = True
        try:
            yield
        finally:
            self._racing = False
            self.cloud.slow_commits.clear()


def expect(response: httpx.Response, status: int) -> Any:
    """The write answered ``status``: its JSON body (None for an empty one)."""
    sent = response.request
    assert response.status_code == status, f"{sent.method} {sent.url.path}: {response.status_code} {response.text}"
    return response.json() if response.content else None
