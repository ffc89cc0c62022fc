"""Out of service and back, as claims and waitlists see it; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from kywash.clock import FakeClock
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room

WASHER_1 = {"machine_type": "washer", "machine_id": 1}


@pytest.fixture
def room(db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(db_client, db_feed, edge, fake_clock)


def out_of_service(room: Room, number: int, headers: dict[str, str]) -> None:
    response = room.post(f"/machines/washer/{number}/out-of-service", {"reason": "leaking"}, headers)
    assert response.status_code == 200, response.text


def test_out_of_service_cancels_an_unconfirmed_claim_and_refuses_new_ones(room: Room) -> None:
    alice = make_account(room.client, "100001")
    staff = make_account(room.client, "warden", role="staff")
    room.post("/machines/start", WASHER_1, alice.headers)
    out_of_service(room, 1, staff.headers)
    assert room.notifications(alice.id)[-1] == ("claim_cancelled", "Your claim on washer 1 was cancelled")
    shown = room.machine("washer", 1, alice.headers)
    assert (shown["usage"], shown["mine"], shown["service_reason"]) == ("out_of_service", False, "leaking")
    refused = room.post("/machines/start", WASHER_1, alice.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "out_of_service")


def test_a_running_cycle_is_left_to_the_sensors(room: Room) -> None:
    alice = make_account(room.client, "100001")
    staff = make_account(room.client, "warden", role="staff")
    room.post("/machines/start", WASHER_1, alice.headers)
    room.sensors("washer-1", "start")
    out_of_service(room, 1, staff.headers)
    room.sensors("washer-1", "finish")
    assert room.notifications(alice.id)[-1] == ("cycle_finished", "Your wash is done")


def test_holds_move_off_a_machine_taken_out_and_back_onto_it(room: Room) -> None:
    carol = make_account(room.client, "100003")
    staff = make_account(room.client, "warden", role="staff")
    room.sensors("washer-2", "start")
    joined = room.post("/waitlist/join", {"machine_type": "washer"}, carol.headers).json()
    assert joined["entries"][0]["machine"] == "washer-1"  # held at once
    out_of_service(room, 1, staff.headers)
    mine = room.client.get("/api/v1/waitlist/washer", headers=carol.headers).json()["entries"][0]
    assert (mine["status"], mine["machine"]) == ("waiting", None)  # nothing else is free: back to waiting
    assert room.notifications(carol.id)[-1][0] == "reservation_withdrawn"
    back = room.post("/machines/washer/1/back-in-service", {}, staff.headers)
    assert back.status_code == 200
    assert room.machine("washer", 1, carol.headers)["reserved_for_me"] is True
