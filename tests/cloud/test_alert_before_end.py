"""The alert before the end: the profile's lead time (0, 5 or 10 minutes), and the one
notification it brings, fired by the timers on the injected clock. It follows the expected end
when the edge revises it, and is not sent when off, after the claim ended, or twice.
SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.domain.machines.end_alert import NOTIFICATION_TYPE
from cloud.platform.settings import CloudSettings
from cloud.processes.timers import Fired, fire_due
from cloud.runtime.app import create_app
from kywash.clock import FakeClock, to_datetime
from kywash.contract import MachineState
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Room, open_room

RUNNING = MachineState.RUNNING


@pytest.fixture
def room(db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(db_client, db_feed, edge, fake_clock)


def now(room: Room) -> datetime:
    return to_datetime(room.clock.now())


def set_lead(room: Room, account: Account, minutes: Any) -> Any:
    return room.client.put("/api/v1/profile/update", headers=account.headers, json={"alert_before_minutes": minutes})


def running(room: Room, account: Account, machine: str = "washer-1", *, ends_in_min: float = 30) -> datetime:
    """``account`` claims ``machine``, the edge starts it and says it ends in ``ends_in_min``."""
    kind, number = machine.split("-")
    body = {"machine_type": kind, "machine_id": int(number), "category": "normal"}
    assert room.post("/machines/start", body, account.headers).status_code == 201
    room.sensors(machine, "start")
    return revise(room, machine, now(room) + timedelta(minutes=ends_in_min))


def revise(room: Room, machine: str, end: datetime) -> datetime:
    """The edge's learned profile says the cycle ends at ``end``."""
    started = now(room) - timedelta(minutes=1)
    room.feed(room.edge.state(machine, RUNNING, minutes=1, current_a=9.5, cycle_started_at=started, expected_end=end))
    return end


def refreshed(room: Room, account: Account) -> dict[str, str]:
    """Headers with a fresh access token (the fake clock outran the first)."""
    pair = room.client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}).json()
    return {"Authorization": f"Bearer {pair['access_token']}"}


def alerts(room: Room, account: Account) -> list[str]:
    return [title for type_, title in room.notifications(account.id) if type_ == NOTIFICATION_TYPE]


# --- the preference ----------------------------------------------------------------------


def test_the_lead_time_is_off_by_default_and_only_0_5_or_10(room: Room) -> None:
    alice = make_account(room.client, "100001")
    me = room.client.get("/api/v1/profile/me", headers=alice.headers).json()
    assert me["alert_before_minutes"] == 0
    for minutes in (5, 10, 0, 10):
        response = set_lead(room, alice, minutes)
        assert response.status_code == 200, response.text
        assert response.json()["alert_before_minutes"] == minutes
    for bad in (7, -5, 15, "5", 5.5, True, None, "off"):
        response = set_lead(room, alice, bad)
        if bad is None:  # left out means unchanged; with nothing else sent that is a 422 too
            assert response.status_code == 422
            continue
        assert response.status_code == 422, (bad, response.text)
        assert "alert_before_minutes" in response.text
    assert room.client.get("/api/v1/profile/me", headers=alice.headers).json()["alert_before_minutes"] == 10
    phone = room.client.put("/api/v1/profile/update", headers=alice.headers, json={"phone_number": "5557654321"})
    assert phone.status_code == 200 and phone.json()["alert_before_minutes"] == 10  # what is left out stays
    assert room.client.put("/api/v1/profile/update", headers=alice.headers, json={}).status_code == 422


# --- the alert ---------------------------------------------------------------------------


def test_the_alert_fires_once_its_lead_before_the_expected_end(room: Room) -> None:
    alice = make_account(room.client, "100001")
    assert set_lead(room, alice, 5).status_code == 200
    running(room, alice, ends_in_min=30)
    assert room.fire(minutes=24).end_alerts == 0  # 6 minutes left
    assert alerts(room, alice) == []
    assert room.fire(minutes=1.5).end_alerts == 1  # 4.5 left: due at 5
    assert alerts(room, alice) == ["5 minutes left on washer 1"]
    assert room.fire(minutes=1).end_alerts == 0
    revise(room, "washer-1", now(room) + timedelta(minutes=20))  # a revision after it was sent: still once
    assert room.fire(minutes=16).end_alerts == 0
    assert alerts(room, alice) == ["5 minutes left on washer 1"]


def test_the_alert_moves_with_the_expected_end(room: Room) -> None:
    alice = make_account(room.client, "100001")
    assert set_lead(room, alice, 10).status_code == 200
    end = running(room, alice, ends_in_min=30)
    room.clock.advance(10 * 60)
    revise(room, "washer-1", end + timedelta(minutes=10))  # the edge learned it runs longer: due at 30, not 20
    assert room.fire(minutes=11).end_alerts == 0  # past the old deadline
    assert room.fire(minutes=8.5).end_alerts == 0
    assert room.fire(minutes=1).end_alerts == 1
    assert alerts(room, alice) == ["10 minutes left on washer 1"]


def test_an_earlier_end_brings_the_alert_forward_and_a_late_choice_says_what_is_left(room: Room) -> None:
    alice = make_account(room.client, "100001")
    end = running(room, alice, ends_in_min=30)
    room.clock.advance(10 * 60)
    assert room.fire().end_alerts == 0  # off: nothing is due
    revise(room, "washer-1", end - timedelta(minutes=17))  # now 3 minutes left
    assert set_lead(room, alice, 5).status_code == 200  # chosen when only 3 are left: told at once, truthfully
    assert room.fire().end_alerts == 1
    assert alerts(room, alice) == ["3 minutes left on washer 1"]


def test_no_alert_when_off_and_none_after_the_claim_ended(room: Room) -> None:
    alice, bob, carol = (make_account(room.client, login) for login in ("100001", "100002", "100003"))
    staff = make_account(room.client, "warden", role="staff")
    for account in (bob, carol):
        assert set_lead(room, account, 10).status_code == 200
    running(room, alice, "washer-1", ends_in_min=30)  # alice: off
    running(room, bob, "washer-2", ends_in_min=30)
    assert room.post("/machines/end", {"machine_type": "washer", "machine_id": 2}, staff.headers).status_code == 200

    body = {"machine_type": "dryer", "machine_id": 1, "category": "normal"}
    assert room.post("/machines/start", body, carol.headers).status_code == 201
    assert room.post("/machines/cancel", {"machine_type": "dryer", "machine_id": 1}, carol.headers).status_code == 200

    assert room.fire(minutes=45).end_alerts == 0
    assert alerts(room, alice) == alerts(room, bob) == alerts(room, carol) == []


def test_a_cycle_that_finishes_early_is_told_done_not_nearly_done(room: Room) -> None:
    alice = make_account(room.client, "100001")
    assert set_lead(room, alice, 5).status_code == 200
    running(room, alice, ends_in_min=30)
    room.clock.advance(10 * 60)
    room.sensors("washer-1", "finish")
    assert room.fire(minutes=30).end_alerts == 0
    assert alerts(room, alice) == []
    assert room.notifications(alice.id)[0][0] == "cycle_finished"  # then collect reminders


def test_a_dryer_says_drying_and_a_washer_wash(room: Room) -> None:
    alice, bob = make_account(room.client, "100001"), make_account(room.client, "100002")
    for account in (alice, bob):
        assert set_lead(room, account, 5).status_code == 200
    running(room, alice, "dryer-1", ends_in_min=20)
    running(room, bob, "washer-1", ends_in_min=20)
    assert room.fire(minutes=15.5).end_alerts == 2
    assert alerts(room, alice) == ["5 minutes left on dryer 1"]
    assert alerts(room, bob) == ["5 minutes left on washer 1"]
    inbox = room.client.get("/api/v1/notifications/", headers=refreshed(room, alice)).json()
    (note,) = [n for n in inbox["items"] if n["type"] == NOTIFICATION_TYPE]
    assert "drying" in note["body"] and note["data"]["minutes_left"] == 5


def test_the_claimant_hears_it_live(room: Room) -> None:
    alice = make_account(room.client, "100001")
    assert set_lead(room, alice, 5).status_code == 200
    running(room, alice, ends_in_min=10)
    with room.client.websocket_connect("/api/ws", headers=alice.headers) as ws:
        ws.receive_json()
        room.fire(minutes=5.5)
        message = ws.receive_json()
        while message["type"] != "notification":
            message = ws.receive_json()
    assert (message["notification"]["type"], message["notification"]["title"]) == (
        NOTIFICATION_TYPE,
        "5 minutes left on washer 1",
    )


def test_two_replicas_send_each_alert_once(room: Room, db_settings: CloudSettings, fake_clock: FakeClock) -> None:
    students = [make_account(room.client, f"10000{n}") for n in range(1, 4)]
    for student, machine in zip(students, ("washer-1", "washer-2", "dryer-1"), strict=True):
        assert set_lead(room, student, 10).status_code == 200
        running(room, student, machine, ends_in_min=20)
    fake_clock.advance(11 * 60)

    with TestClient(create_app(db_settings, clock=fake_clock)) as other:
        states = [room.client.app.state.cloud, other.app.state.cloud]  # type: ignore[attr-defined]
        results: list[Fired] = []
        barrier = threading.Barrier(len(states) * 2)

        def replica(state: Any) -> None:
            barrier.wait()
            results.append(fire_due(state.transactions, state.ingest.metrics))

        threads = [threading.Thread(target=replica, args=(s,)) for s in states * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert sum(r.end_alerts for r in results) == 3
    for student in students:
        assert len(alerts(room, student)) == 1
