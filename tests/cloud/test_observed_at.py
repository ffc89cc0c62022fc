"""``observed_at``: when a machine's sensors were last heard (its last stored reading), in the
API and on the WebSocket. It moves with a new reading, and not with a change that is no reading
(a claim). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.domain.ingest.apply import TELEMETRY_STORE_EVERY_S
from cloud.processes.freshness import TELL_EVERY_S
from kywash.clock import FakeClock, to_datetime
from kywash.contract import EventType, MachineState
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room


@pytest.fixture
def room(db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(db_client, db_feed, edge, fake_clock)


def observed(machine: dict[str, Any]) -> datetime | None:
    value = machine["observed_at"]
    return None if value is None else datetime.fromisoformat(value)


def now(room: Room) -> datetime:
    return to_datetime(room.clock.now())


def next_machine(ws: Any, machine_id: str) -> dict[str, Any]:
    while True:
        message = ws.receive_json()
        if message.get("type") == "machine" and message["machine"]["id"] == machine_id:
            machine: dict[str, Any] = message["machine"]
            return machine


def test_observed_at_is_when_the_last_reading_was_stored_in_the_api_and_on_the_websocket(room: Room) -> None:
    opened = now(room)
    assert observed(room.machine("washer", 1)) == opened  # the retained state of open_room
    bob = make_account(room.client, "100002")
    with room.client.websocket_connect("/api/ws", headers=bob.headers) as ws:
        snapshot = ws.receive_json()
        assert observed(next(m for m in snapshot["machines"] if m["id"] == "washer-1")) == opened

        room.clock.advance(90)
        room.feed(room.edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, minutes=2))
        live = next_machine(ws, "washer-1")
        assert observed(live) == observed(room.machine("washer", 1)) == opened.replace(minute=1, second=30)

        room.clock.advance(TELEMETRY_STORE_EVERY_S + 20)
        room.feed(room.edge.telemetry("washer-1", 7.5, minutes=3))  # telemetry is a reading too
        live = next_machine(ws, "washer-1")
        assert observed(live) == observed(room.machine("washer", 1)) == now(room)
    assert observed(room.machine("washer", 2)) == opened  # another machine's reading is not this one's


def test_a_claim_is_no_reading_and_does_not_move_observed_at(room: Room) -> None:
    opened = now(room)
    alice = make_account(room.client, "100001")
    room.clock.advance(120)
    with room.client.websocket_connect("/api/ws", headers=alice.headers) as ws:
        ws.receive_json()
        body = {"machine_type": "washer", "machine_id": 1, "category": "normal"}
        assert room.post("/machines/start", body, alice.headers).status_code == 201
        live = next_machine(ws, "washer-1")
        assert live["usage"] == "claimed"
        assert observed(live) == opened
    assert observed(room.machine("washer", 1, alice.headers)) == opened


def test_observed_at_stays_while_the_room_is_offline_saying_how_old_the_last_word_is(room: Room) -> None:
    opened = now(room)
    room.clock.advance(600)
    room.feed(room.edge.status(online=False))
    washer = room.machine("washer", 1)
    assert (washer["state"], observed(washer)) == ("unknown", opened)


def test_telemetry_that_changes_nothing_shown_still_freshens_the_cards_at_most_every_minute(room: Room) -> None:
    bob = make_account(room.client, "100002")
    with room.client.websocket_connect("/api/ws", headers=bob.headers) as ws:
        ws.receive_json()
        room.clock.advance(TELL_EVERY_S)
        room.feed(room.edge.telemetry("washer-1", 0.0))  # the same current: only observed_at moves
        assert observed(next_machine(ws, "washer-1")) == now(room)
        room.clock.advance(TELL_EVERY_S / 2)
        room.feed(room.edge.telemetry("washer-1", 0.0))  # stored, but the cards were told half a minute ago
        assert observed(room.machine("washer", 1)) == now(room)  # the API has it
        room.clock.advance(TELL_EVERY_S / 2)
        room.feed(room.edge.telemetry("washer-1", 0.0), room.edge.telemetry("washer-2", 0.0))
        told = [next_machine(ws, "washer-1"), next_machine(ws, "washer-2")]  # a half-minute one would show first
        assert [observed(m) for m in told] == [now(room), now(room)]
