"""Claims through the original API, moved by edge events fed to ingest; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from kywash.clock import FakeClock
from kywash.contract import EventType, MachineState
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room

WASHER_1 = {"machine_type": "washer", "machine_id": 1}


@pytest.fixture
def room(db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(db_client, db_feed, edge, fake_clock)


def test_a_claim_is_confirmed_by_the_sensors_and_ends_when_the_door_opens(room: Room) -> None:
    alice, bob = make_account(room.client, "100001"), make_account(room.client, "100002")
    started = room.post("/machines/start", {**WASHER_1, "category": "extra_10"}, alice.headers)
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["claim"]["status"] == "pending" and body["claim"]["category"] == "extra_10"
    assert body["machine"]["usage"] == "claimed" and body["machine"]["mine"] is True
    assert room.machine("washer", 1, bob.headers)["in_use_by"] == "someone"
    assert room.machine("washer", 1, bob.headers)["claim"] is None  # nobody else sees the claim's details

    room.sensors("washer-1", "start")
    mine = room.machine("washer", 1, alice.headers)
    assert (mine["usage"], mine["in_use_by"], mine["claim"]["status"]) == ("in_use", "you", "active")
    assert room.machine("washer", 1)["in_use_by"] == "someone"

    room.sensors("washer-1", "pause")  # a soak: still in use, nothing said
    room.sensors("washer-1", "start")
    room.sensors("washer-1", "finish")
    finished = room.machine("washer", 1, alice.headers)
    assert (finished["usage"], finished["claim"]["status"]) == ("finished", "finished")
    assert room.notifications(alice.id) == [("cycle_finished", "Your wash is done")]
    assert room.notifications(bob.id) == []

    room.sensors("washer-1", "open")
    freed = room.machine("washer", 1, alice.headers)
    assert (freed["usage"], freed["mine"], freed["claim"]) == ("free", False, None)


def test_a_cycle_nobody_claimed_is_in_use_by_someone_unknown(room: Room) -> None:
    staff = make_account(room.client, "warden", role="staff")
    room.sensors("washer-2", "start")
    machine = room.machine("washer", 2)
    assert (machine["usage"], machine["in_use_by"]) == ("in_use", "unknown")
    room.sensors("washer-2", "finish")
    log = room.client.get("/api/v1/activities/", headers=staff.headers).json()["items"]
    assert [(a["type"], a["data"]["claimed"]) for a in log[:2]] == [("cycle_finished", False), ("cycle_started", False)]


def test_a_claim_the_sensors_never_confirm_expires_once(room: Room) -> None:
    alice = make_account(room.client, "100001")
    assert room.post("/machines/start", WASHER_1, alice.headers).status_code == 201
    assert room.fire(minutes=4.9).expired_claims == 0
    assert room.fire(minutes=0.2).expired_claims == 1
    assert room.fire().expired_claims == 0  # fired once, however often the loop looks
    assert room.machine("washer", 1)["usage"] == "free"
    assert room.notifications(alice.id) == [("claim_expired", "Your claim on washer 1 expired")]


def test_a_confirmed_claim_never_expires(room: Room) -> None:
    alice = make_account(room.client, "100001")
    room.post("/machines/start", WASHER_1, alice.headers)
    room.sensors("washer-1", "start")
    assert room.fire(minutes=6).expired_claims == 0
    assert room.machine("washer", 1, alice.headers)["claim"]["status"] == "active"


def test_reminders_while_the_door_stays_shut_at_most_three(room: Room) -> None:
    alice = make_account(room.client, "100001")
    room.post("/machines/start", WASHER_1, alice.headers)
    room.sensors("washer-1", "start")
    room.sensors("washer-1", "finish")
    assert room.fire(minutes=9).reminders == 0
    sent = [room.fire(minutes=10).reminders for _ in range(5)]
    assert sent == [1, 1, 1, 0, 0]
    titles = [title for type_, title in room.notifications(alice.id) if type_ == "collect_reminder"]
    assert titles == ["Your laundry is waiting in washer 1"] * 3
    room.sensors("washer-1", "open")
    assert room.machine("washer", 1)["usage"] == "free"


def test_the_door_opened_mid_cycle_ends_the_claim_as_interrupted(room: Room) -> None:
    alice = make_account(room.client, "100001")
    room.post("/machines/start", WASHER_1, alice.headers)
    room.sensors("washer-1", "start")
    room.sensors("washer-1", "open")
    assert room.notifications(alice.id)[-1][0] == "cycle_interrupted"
    assert room.machine("washer", 1)["usage"] == "free"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("running", "machine_in_use"),
        ("finished", "machine_not_unloaded"),
        ("claimed", "machine_taken"),
        ("fault", "machine_unavailable"),
        ("offline", "machine_unknown"),
    ],
)
def test_start_is_refused_with_the_reason(room: Room, setup: str, code: str) -> None:
    bob = make_account(room.client, "100002")
    if setup == "running":
        room.sensors("washer-1", "start")
    elif setup == "finished":
        room.sensors("washer-1", "start")
        room.sensors("washer-1", "finish")
    elif setup == "claimed":
        room.post("/machines/start", WASHER_1, make_account(room.client, "100001").headers)
    elif setup == "fault":
        room.sensors("washer-1", "fault")
    else:
        room.feed(room.edge.status(online=False))
    refused = room.post("/machines/start", WASHER_1, bob.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == code


def test_one_claim_per_type_and_bad_requests(room: Room) -> None:
    alice = make_account(room.client, "100001")
    assert room.post("/machines/start", WASHER_1, alice.headers).status_code == 201
    second = room.post("/machines/start", {"machine_type": "washer", "machine_id": 2}, alice.headers)
    assert (second.status_code, second.json()["error"]["code"]) == (409, "claim_limit")
    dryer = room.post("/machines/start", {"machine_type": "dryer", "machine_id": 1}, alice.headers)
    assert dryer.status_code == 201  # a washer and a dryer at once is fine
    assert room.post("/machines/start", {**WASHER_1, "category": "extra_99"}, alice.headers).status_code == 422
    assert room.post("/machines/start", {"machine_type": "boiler", "machine_id": 1}, alice.headers).status_code == 422
    missing = room.post("/machines/start", {"machine_type": "washer", "machine_id": 9}, alice.headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "no_such_machine")
    assert room.client.post("/api/v1/machines/start", json=WASHER_1).status_code == 401
    garbage = room.client.post("/api/v1/machines/start", content=b"{not json", headers=alice.headers)
    assert garbage.status_code == 422 and garbage.json()["error"]["code"] == "invalid_input"


def test_cancel_and_end_follow_the_sensors(room: Room) -> None:
    alice, bob = make_account(room.client, "100001"), make_account(room.client, "100002")
    staff = make_account(room.client, "warden", role="staff")
    room.post("/machines/start", WASHER_1, alice.headers)
    assert room.post("/machines/cancel", WASHER_1, bob.headers).status_code == 404  # not bob's
    cancelled = room.post("/machines/cancel", WASHER_1, alice.headers)
    assert cancelled.status_code == 200 and cancelled.json()["claim"]["status"] == "cancelled"

    room.post("/machines/start", WASHER_1, alice.headers)
    room.sensors("washer-1", "start")
    late_cancel = room.post("/machines/cancel", WASHER_1, alice.headers)
    assert (late_cancel.status_code, late_cancel.json()["error"]["code"]) == (409, "claim_active")
    early_end = room.post("/machines/end", WASHER_1, alice.headers)
    assert (early_end.status_code, early_end.json()["error"]["code"]) == (409, "cycle_running")
    room.sensors("washer-1", "finish")
    ended = room.post("/machines/end", WASHER_1, alice.headers)
    assert ended.status_code == 200 and ended.json()["claim"]["status"] == "ended"
    assert room.post("/machines/end", WASHER_1, alice.headers).status_code == 404  # nothing left to end

    room.sensors("washer-1", "open")
    room.sensors("washer-1", "close")
    room.post("/machines/start", WASHER_1, bob.headers)
    room.sensors("washer-1", "start")
    forced = room.post("/machines/end", WASHER_1, staff.headers)  # staff may force it while it runs
    assert forced.status_code == 200 and forced.json()["claim"]["status"] == "ended"
    assert room.machine("washer", 1)["in_use_by"] == "unknown"  # the sensors still see it running


def test_a_claim_confirmed_from_retained_state_after_a_reconnect(room: Room) -> None:
    """Events lost while the cloud was away: the retained state alone still moves the claim."""
    alice = make_account(room.client, "100001")
    room.post("/machines/start", WASHER_1, alice.headers)
    room.feed(room.edge.state("washer-1", MachineState.FINISHED, seq=50))
    assert room.machine("washer", 1, alice.headers)["claim"]["status"] == "finished"
    assert room.notifications(alice.id) == [("cycle_finished", "Your wash is done")]
    room.feed(room.edge.state("washer-1", MachineState.FINISHED, seq=50))  # redelivered: nothing new
    assert len(room.notifications(alice.id)) == 1


def test_a_fault_the_edge_detects_arrives_as_an_automatic_report_once(room: Room) -> None:
    staff = make_account(room.client, "warden", role="staff")
    room.sensors("washer-2", "fault")
    replay = room.edge.event("washer-2", EventType.SENSOR_FAULT, MachineState.SENSOR_FAULT, seq=room.edge.seq)
    room.feed(replay)  # the same event delivered again
    room.sensors("washer-2", "fault")  # reported again (a restarted edge) while the first is open
    reports = room.client.get("/api/v1/faults/", headers=staff.headers).json()["items"]
    assert [(r["machine"], r["automatic"]) for r in reports] == [("washer-2", True)]
    assert room.machine("washer", 2)["usage"] == "unavailable"
    assert [t for t, _ in room.notifications(staff.id)] == ["sensor_fault"]  # the alarm tells staff, once


def test_a_machine_that_never_draws_current_after_the_claimant_shut_its_door_is_reported(room: Room) -> None:
    alice = make_account(room.client, "100001")
    staff = make_account(room.client, "warden", role="staff")
    room.post("/machines/start", WASHER_1, alice.headers)
    room.post("/machines/start", {"machine_type": "dryer", "machine_id": 1}, alice.headers)
    room.sensors("washer-1", "open")
    room.sensors("washer-1", "close")  # loaded and shut; the dryer's door is never touched
    assert room.fire(minutes=5.1).expired_claims == 2
    reports = room.client.get("/api/v1/faults/", headers=staff.headers).json()["items"]
    assert [(r["machine"], r["automatic"], r["reason"]) for r in reports] == [
        ("washer-1", True, "no_current_after_claim")
    ]
