"""A registered laundry room whose edge the test drives, for claim and waitlist tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.platform.storage.tables import notifications
from cloud.processes.timers import Fired, fire_due
from kywash.clock import FakeClock
from kywash.contract import Door, EventType, MachineState
from tests.cloud.fake_edge import FakeEdge

Feed = Callable[..., list[Any]]

SENSOR_EVENTS = {
    "start": (EventType.CYCLE_STARTED, MachineState.RUNNING, Door.CLOSED),
    "pause": (EventType.CYCLE_PAUSED, MachineState.PAUSED, Door.CLOSED),
    "finish": (EventType.CYCLE_FINISHED, MachineState.FINISHED, Door.CLOSED),
    "open": (EventType.DOOR_OPENED, MachineState.DOOR_OPEN, Door.OPEN),
    "close": (EventType.DOOR_CLOSED, MachineState.IDLE, Door.CLOSED),
    "fault": (EventType.SENSOR_FAULT, MachineState.SENSOR_FAULT, Door.CLOSED),
}


@dataclass
class Room:
    client: TestClient
    feed: Feed
    edge: FakeEdge
    clock: FakeClock

    def sensors(self, machine: str, what: str) -> None:
        """The edge reports ``what`` (start, pause, finish, open, close, fault) on ``machine``."""
        type_, state, door = SENSOR_EVENTS[what]
        current = 9.5 if state in (MachineState.RUNNING, MachineState.PAUSED) else 0.0
        self.feed(self.edge.event(machine, type_, state, door=door, current_a=current))

    def machine(self, kind: str, number: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/machines/{kind}/{number}", headers=headers or {})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def fire(self, minutes: float = 0) -> Fired:
        """Move the clock on and fire what is due, as the timer loop would."""
        if minutes:
            self.clock.advance(minutes * 60)
        return fire_due(self.client.app.state.cloud.transactions, self.client.app.state.cloud.ingest.metrics)  # type: ignore[attr-defined]

    def notifications(self, user_id: int) -> list[tuple[str, str]]:
        """(type, title) of a user's notifications, oldest first."""
        engine = self.client.app.state.cloud.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            rows = conn.execute(
                select(notifications.c.type, notifications.c.title)
                .where(notifications.c.user_id == user_id)
                .order_by(notifications.c.id)
            )
            return [(row.type, row.title) for row in rows]

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=headers)


def open_room(client: TestClient, feed: Feed, edge: FakeEdge, clock: FakeClock) -> Room:
    """The room registered and online, every machine idle with its door shut."""
    feed(edge.info(), edge.status(online=True), *(edge.state(m.id) for m in edge.machines))
    return Room(client, feed, edge, clock)
