"""A live KY Wash for browser tests: the cloud on a free port and one simulated room, with handles to drive it.

``start_web_stack`` runs the cloud in-process (``cloud.runtime.server.serve``) and a
``SimulatedRoom`` (simulator + the real edge agent) on one ``ScaledClock``, both on the
given broker, and returns once the cloud knows the room's 12 machines. ``WebStack`` is
what a test holds: addresses, the room to open doors and set currents in, the cloud's
state, and helpers for the things a browser cannot do by itself (run a wash cycle, make
a staff account, drop every WebSocket).

Time: the clock runs ``speed`` times faster than real time (60 by default: a simulated
minute per real second), so the cloud's minutes-long timers (claim confirmation,
holds: 5 minutes by default) pass in seconds; pass ``settings`` to lengthen them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from tests.support.live import wait_for_machines

if TYPE_CHECKING:
    from cloud.runtime.state import CloudState
    from edge.thresholds import Thresholds
    from firmware_sim.room import RoomSimulator
    from kywash.clock import ScaledClock
    from launchers.stack import SimulatedRoom

Machine = dict[str, Any]
ROOM = "room-1"
DEFAULT_SPEED = 60.0
END_MARGIN_S = 5.0
"""Simulated seconds of draw beyond the end stretch, so sampling cannot cut it short..."""
END_MARGIN_REAL_S = 0.25
"""...and at least this much real time, for threads that wake late on a busy machine."""


@dataclass(frozen=True)
class StaffAccount:
    id: int
    username: str
    password: str


@dataclass
class WebStack:
    """A running cloud and room. ``base_url`` serves the web app at ``/``; the room is ``site``/``room``."""

    base_url: str
    site: str
    room: str
    simulated_room: SimulatedRoom
    state: CloudState
    clock: ScaledClock

    def __post_init__(self) -> None:
        self._running_since: dict[str, float] = {}
        """When each machine started running (the edge's time), for ``finish_cycle``."""

    @property
    def sim(self) -> RoomSimulator:
        """The simulator: ``sim.open_door(id)``, ``sim.close_door(id)``, ``sim.set_current(id, amps)``."""
        return self.simulated_room.sim

    @property
    def speed(self) -> float:
        return self.clock.speed

    def room_url(self, path: str = "/", **query: str) -> str:
        """``base_url + path`` for this room (``?site=...&room=...`` plus ``query``)."""
        return f"{self.base_url}{path}?{urlencode({'site': self.site, 'room': self.room, **query})}"

    # --- what the cloud says -------------------------------------------------------------

    def machines(self, token: str | None = None) -> list[Machine]:
        """The room's machines from the REST API (personalised with a student's ``token``)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(
            f"{self.base_url}/api/v1/machines/", params={"site": self.site, "room": self.room}, headers=headers
        )
        response.raise_for_status()
        body = response.json()
        found: list[Machine] = body["washers"] + body["dryers"]
        return found

    def machine(self, machine_id: str) -> Machine:
        return next(m for m in self.machines() if m["id"] == machine_id)

    def wait_for_machine(self, machine_id: str, timeout: float = 15.0, **fields: object) -> Machine:
        """Poll the API until ``machine_id`` has every one of ``fields`` (``state="running"``)."""
        deadline = time.monotonic() + timeout
        machine = self.machine(machine_id)
        while not all(machine.get(k) == v for k, v in fields.items()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{machine_id} never had {fields} in {timeout} s; last seen {machine}")
            time.sleep(0.05)
            machine = self.machine(machine_id)
        return machine

    # --- wash cycles ---------------------------------------------------------------------

    def start_cycle(self, machine_id: str, amps: float | None = None) -> Machine:
        """Make the machine draw current until the cloud shows it ``running``; returns that machine.

        The draw is the kind's end signature (washer 4.4 A, like a final spin; dryer 1.5 A,
        steady, then straight to standby) so that ``finish_cycle`` is recognised quickly.
        The door must be closed (it is, unless the test opened it). Takes ``start_dwell_s``
        simulated seconds (washer 10, dryer 90) plus transport.
        """
        limits = self.thresholds(machine_id)
        signature = (limits.end_low_amps + limits.end_high_amps) / 2 if limits.needs_spin else 5 * limits.on_amps
        draw = signature if amps is None else amps
        self.sim.set_current(machine_id, draw)
        running = self.wait_for_machine(machine_id, timeout=self._real(limits.start_dwell_s) + 15, state="running")
        self._running_since[machine_id] = datetime.fromisoformat(running["since"]).timestamp()
        return running

    def finish_cycle(self, machine_id: str) -> Machine:
        """Let the end stretch complete, stop the draw, and wait until the cloud shows ``finished``.

        A quiet stretch before ``min_cycle_s`` (600 simulated seconds) is a pause, so the
        draw lasts that long (and ``end_min_s`` in the spin band for a washer); then
        ``end_dwell_s`` of quiet at standby (washer 60, dryer 40) is the end.
        """
        limits = self.thresholds(machine_id)
        since = self._running_since.pop(machine_id, None)
        if since is None:
            raise AssertionError(f"finish_cycle({machine_id!r}) without start_cycle first")
        margin = max(END_MARGIN_S, END_MARGIN_REAL_S * self.clock.speed)
        self.clock.sleep(since + max(limits.end_min_s, limits.min_cycle_s) + margin - self.clock.now())
        self.sim.set_current(machine_id, 0.0)
        timeout = self._real(limits.end_dwell_s + 20) + 15
        finished = self.wait_for_machine(machine_id, timeout=timeout, state="finished")
        self.sim.set_current(machine_id, None)  # back to the simulator's model: an idle machine
        return finished

    def run_cycle(self, machine_id: str, amps: float | None = None) -> Machine:
        """A whole short cycle: ``start_cycle`` then ``finish_cycle``; returns the finished machine.

        At speed 60 a washer takes about 12 real seconds (~700 simulated), a dryer about 13.
        The door stays closed: open it to take the laundry out.
        """
        self.start_cycle(machine_id, amps)
        return self.finish_cycle(machine_id)

    def thresholds(self, machine_id: str) -> Thresholds:
        """The edge's thresholds for ``machine_id`` (its kind's, with the machine's overrides)."""
        config = self.simulated_room.config
        machine = next(m for m in config.machines if m.id == machine_id)
        return config.thresholds.for_kind(machine.kind).merged(machine.thresholds)

    def _real(self, simulated_s: float) -> float:
        return simulated_s / self.clock.speed

    # --- accounts ------------------------------------------------------------------------

    def make_staff(self, username: str = "staff.member", password: str = "wash-room-staff-1") -> StaffAccount:
        """A staff account, the way ``kywash cloud create-staff`` makes one (the API never does)."""
        from cloud.domain.accounts.access import create_staff
        from kywash.clock import to_datetime

        with self.state.engine.begin() as conn:
            user = create_staff(conn, username, password, to_datetime(self.clock.now()))
        assert user.username is not None
        return StaffAccount(user.id, user.username, password)

    def register_student(self, student_id: str, pin: str = "1234", phone: str = "+1 202-555-0143") -> dict[str, Any]:
        """Register a student through the API (as the page's sign-up does); returns the token pair."""
        body = {"student_id": student_id, "pin": pin, "phone_number": phone}
        return self._post("/api/v1/auth/register", body, expect=201)

    def log_in_student(self, student_id: str, pin: str = "1234") -> dict[str, Any]:
        """Log a registered student in through the API; returns the token pair."""
        return self._post("/api/v1/auth/login", {"student_id": student_id, "pin": pin})

    def log_in_staff(self, account: StaffAccount) -> dict[str, Any]:
        return self._post("/api/v1/auth/staff/login", {"username": account.username, "password": account.password})

    def _post(self, path: str, body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        response = httpx.post(f"{self.base_url}{path}", json=body, timeout=10)
        assert response.status_code == expect, f"POST {path}: {response.status_code} {response.text}"
        pair: dict[str, Any] = response.json()
        return pair

    # --- WebSockets ----------------------------------------------------------------------

    def close_websockets(self) -> int:
        """Close every open ``/api/ws`` socket server-side (code 1012, as a restart would); how many."""
        return self.state.hub.close_all()

    def wait_for_websockets(self, count: int, timeout: float = 15.0) -> None:
        """Wait until ``count`` WebSocket clients are connected (and subscribed) to the cloud."""
        deadline = time.monotonic() + timeout
        while (connected := len(self.state.hub)) != count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{connected} WebSocket clients after {timeout} s, expected {count}")
            time.sleep(0.05)


@contextmanager
def start_web_stack(
    broker_url: str, data_dir: Path, site: str, *, speed: float = DEFAULT_SPEED, **settings: Any
) -> Iterator[WebStack]:
    """Cloud (SQLite in ``data_dir``) + simulated room ``room-1`` (no simulated students), up and reporting.

    ``settings`` override ``CloudSettings`` fields (``hold_minutes=60``).
    """
    from cloud.platform.settings import CloudSettings
    from cloud.runtime.app import create_app
    from cloud.runtime.server import serve
    from kywash.clock import ScaledClock
    from launchers.broker import free_port
    from launchers.stack import SimulatedRoom

    clock = ScaledClock(speed=speed)
    options: dict[str, Any] = {
        "database_url": f"sqlite:///{data_dir / 'cloud.db'}",
        "mqtt_url": broker_url,
        "access_token_minutes": 24 * 60,  # on the fast clock: 24 real minutes at speed 60
        **settings,
    }
    app = create_app(CloudSettings(**options), clock=clock)
    with (
        serve(app, port=free_port()) as server,
        SimulatedRoom(site, ROOM, broker_url, data_dir / "edge", clock, students=False) as room,
    ):
        wait_for_machines(server.url, site, ROOM)
        yield WebStack(server.url, site, ROOM, room, app.state.cloud, clock)
