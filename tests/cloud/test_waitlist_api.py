"""Waitlists and reservation holds through the original API; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room

WASHERS = {"machine_type": "washer"}


@pytest.fixture
def room(db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(db_client, db_feed, edge, fake_clock)


def busy(room: Room, *accounts: Account) -> None:
    """Both washers claimed and running (by ``accounts``, or unclaimed)."""
    for number, account in enumerate(accounts, start=1):
        room.post("/machines/start", {"machine_type": "washer", "machine_id": number}, account.headers)
    for number in (1, 2):
        room.sensors(f"washer-{number}", "start")


def free_washer_1(room: Room) -> None:
    room.sensors("washer-1", "finish")
    room.sensors("washer-1", "open")


def test_join_shows_positions_and_only_once(room: Room) -> None:
    busy(room)
    carol, dave = make_account(room.client, "100003"), make_account(room.client, "100004")
    joined = room.post("/waitlist/join", WASHERS, carol.headers)
    assert joined.status_code == 201
    assert (joined.json()["length"], joined.json()["my_position"]) == (1, 1)
    room.post("/waitlist/join", WASHERS, dave.headers)
    again = room.post("/waitlist/join", WASHERS, dave.headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_waiting")
    listed = room.client.get("/api/v1/waitlist/washer", headers=dave.headers).json()
    assert [(e["position"], e["mine"], e["student_id"]) for e in listed["entries"]] == [
        (1, False, None),
        (2, True, None),
    ]
    staff = make_account(room.client, "warden", role="staff")
    seen_by_staff = room.client.get("/api/v1/waitlist/washer", headers=staff.headers).json()
    assert [e["student_id"] for e in seen_by_staff["entries"]] == ["100003", "100004"]
    assert room.client.get("/api/v1/waitlist/dryer", headers=dave.headers).json()["length"] == 0
    left = room.post("/waitlist/leave", WASHERS, carol.headers)
    assert left.status_code == 200 and left.json()["length"] == 1
    again_left = room.post("/waitlist/leave", WASHERS, carol.headers)
    assert (again_left.status_code, again_left.json()["error"]["code"]) == (404, "not_waiting")
    assert room.client.get("/api/v1/waitlist/washer").status_code == 401


def test_a_freed_machine_is_held_for_the_head_who_alone_may_claim_it(room: Room) -> None:
    alice, bob = make_account(room.client, "100001"), make_account(room.client, "100002")
    carol, dave = make_account(room.client, "100003"), make_account(room.client, "100004")
    busy(room, alice, bob)
    room.post("/waitlist/join", WASHERS, carol.headers)
    room.post("/waitlist/join", WASHERS, dave.headers)
    free_washer_1(room)

    held = room.machine("washer", 1, carol.headers)
    assert (held["usage"], held["reserved_for_me"]) == ("reserved", True)
    assert room.machine("washer", 1, dave.headers)["reserved_for_me"] is False
    assert room.notifications(carol.id)[-1] == ("reservation_offered", "Washer 1 is held for you")
    refused = room.post("/machines/start", {"machine_type": "washer", "machine_id": 1}, dave.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "machine_reserved")

    claimed = room.post("/machines/start", {"machine_type": "washer", "machine_id": 1}, carol.headers)
    assert claimed.status_code == 201
    after = room.client.get("/api/v1/waitlist/washer", headers=dave.headers).json()
    assert (after["length"], after["my_position"]) == (1, 1)  # carol left the list by claiming


def test_an_unclaimed_hold_passes_to_the_next_in_line(room: Room) -> None:
    busy(room)
    carol, dave = make_account(room.client, "100003"), make_account(room.client, "100004")
    room.post("/waitlist/join", WASHERS, carol.headers)
    room.post("/waitlist/join", WASHERS, dave.headers)
    free_washer_1(room)
    assert room.fire(minutes=4.9).expired_holds == 0
    assert room.fire(minutes=0.2).expired_holds == 1
    assert room.fire().expired_holds == 0
    assert room.notifications(carol.id)[-1] == ("reservation_expired", "Your hold on washer 1 expired")
    assert room.notifications(dave.id)[-1] == ("reservation_offered", "Washer 1 is held for you")
    assert room.machine("washer", 1, dave.headers)["reserved_for_me"] is True
    too_late = room.post("/machines/start", {"machine_type": "washer", "machine_id": 1}, carol.headers)
    assert (too_late.status_code, too_late.json()["error"]["code"]) == (409, "hold_expired")
    assert "Your hold on washer 1 ran out" in too_late.json()["error"]["message"]
    assert room.fire(minutes=5.1).expired_holds == 1
    assert room.machine("washer", 1)["usage"] == "free"  # nobody left waiting


def test_joining_when_a_machine_is_free_holds_it_at_once(room: Room) -> None:
    carol = make_account(room.client, "100003")
    joined = room.post("/waitlist/join", WASHERS, carol.headers).json()
    assert joined["entries"][0]["status"] == "offered" and joined["entries"][0]["machine"] == "washer-1"


def test_a_hold_is_withdrawn_when_someone_starts_the_machine_unclaimed(room: Room) -> None:
    busy(room)
    carol = make_account(room.client, "100003")
    room.post("/waitlist/join", WASHERS, carol.headers)
    free_washer_1(room)
    room.sensors("washer-1", "close")
    room.sensors("washer-1", "start")  # someone ignored the app
    mine = room.client.get("/api/v1/waitlist/washer", headers=carol.headers).json()
    assert (mine["my_position"], mine["entries"][0]["status"]) == (1, "waiting")
    assert room.notifications(carol.id)[-1][0] == "reservation_withdrawn"
    room.sensors("washer-2", "finish")
    room.sensors("washer-2", "open")
    assert room.machine("washer", 2, carol.headers)["reserved_for_me"] is True


def test_leaving_with_a_hold_passes_it_on(room: Room) -> None:
    busy(room)
    carol, dave = make_account(room.client, "100003"), make_account(room.client, "100004")
    room.post("/waitlist/join", WASHERS, carol.headers)
    room.post("/waitlist/join", WASHERS, dave.headers)
    free_washer_1(room)
    room.post("/waitlist/leave", WASHERS, carol.headers)
    assert room.machine("washer", 1, dave.headers)["reserved_for_me"] is True
