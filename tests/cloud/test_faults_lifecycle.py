"""The repair tracker over the API: each step of a report, the refused ones, who may take them,
resolve as the ``resolved`` step, the reporter's notifications, the machine's ``service_eta``,
and the room's Repairs list as a student may see it (live, too)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from kywash.clock import FakeClock, to_datetime
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.faults_support import JPEG, Feed, assert_error, machine, register, report
from tests.cloud.test_faults_live import until


def today(clock: FakeClock) -> date:
    return to_datetime(clock.now()).date()


def step(client: TestClient, who: Account, fault_id: int, status: str, **body: Any) -> Any:
    payload = {
        "status": status,
        **{key: value.isoformat() if isinstance(value, date) else value for key, value in body.items()},
    }
    return client.post(f"/api/v1/faults/{fault_id}/status", json=payload, headers=who.headers)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def told(client: TestClient, who: Account) -> list[tuple[str, str, str]]:
    """The reporter's notifications, oldest first: (type, title, body)."""
    items = client.get("/api/v1/notifications/", headers=who.headers).json()["items"]
    return [(n["type"], n["title"], n["body"]) for n in reversed(items)]


def repairs(client: TestClient, who: Account, edge: FakeEdge) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/rooms/{edge.room}/repairs", params={"site": edge.site}, headers=who.headers)
    body = ok(response)
    assert (body["site"], body["room"]) == (edge.site, edge.room)
    items: list[dict[str, Any]] = body["items"]
    return items


@pytest.fixture
def people(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> dict[str, Account]:
    register(db_feed, edge)
    return {
        "alice": make_account(db_client, "111111"),
        "bob": make_account(db_client, "222222"),
        "staff": make_account(db_client, "boss", role="staff"),
    }


def test_a_report_goes_through_every_step_and_its_reporter_is_told_each(
    db_client: TestClient, people: dict[str, Account], fake_clock: FakeClock
) -> None:
    alice, staff = people["alice"], people["staff"]
    fault_id = report(db_client, alice, kind="washer", number=2).json()["id"]
    tuesday = today(fake_clock) + timedelta(days=4)

    seen = ok(step(db_client, staff, fault_id, "acknowledged", note="We have seen it"))
    assert (seen["status"], seen["note"], seen["eta"]) == ("acknowledged", "We have seen it", None)
    planned = ok(step(db_client, staff, fault_id, "scheduled", eta=tuesday, note="Technician on Tuesday"))
    assert (planned["status"], planned["eta"], planned["note"]) == (
        "scheduled",
        tuesday.isoformat(),
        "Technician on Tuesday",
    )
    moved = ok(step(db_client, staff, fault_id, "scheduled", eta=tuesday + timedelta(days=1), note="Wednesday now"))
    assert moved["eta"] == (tuesday + timedelta(days=1)).isoformat()
    done = ok(step(db_client, staff, fault_id, "resolved", note="New door seal"))
    assert (done["status"], done["eta"], done["note"]) == ("resolved", None, "New door seal")
    assert (done["resolution_note"], done["resolved_by"]) == ("New door seal", "boss")
    assert done["resolved_at"] is not None and done["updated_at"] == done["resolved_at"]
    assert [(s["status"], s["note"], s["by"]) for s in done["history"]] == [
        ("acknowledged", "We have seen it", "boss"),
        ("scheduled", "Technician on Tuesday", "boss"),
        ("scheduled", "Wednesday now", "boss"),
        ("resolved", "New door seal", "boss"),
    ]
    assert done["history"][1]["eta"] == tuesday.isoformat()

    day = f"{tuesday:%a} {tuesday.day} {tuesday:%b}"
    assert told(db_client, alice) == [
        ("fault_acknowledged", "Washer 2: report acknowledged by staff", "We have seen it"),
        ("fault_scheduled", f"Washer 2: repair scheduled for {day}", "Technician on Tuesday"),
        (
            "fault_scheduled",
            f"Washer 2: repair scheduled for {(tuesday + timedelta(days=1)):%a} "
            f"{(tuesday + timedelta(days=1)).day} {(tuesday + timedelta(days=1)):%b}",
            "Wednesday now",
        ),
        ("fault_resolved", f"Your report on Washer 2 in {done['site']}/{done['room']} was resolved", "New door seal"),
    ]

    mine = db_client.get("/api/v1/faults/", headers=alice.headers).json()["items"]
    assert [s["by"] for s in mine[0]["history"]] == [None] * 4, "who took a step is staff's business"
    assert mine[0]["status"] == "resolved"


def test_wont_fix_closes_with_its_reason(db_client: TestClient, people: dict[str, Account]) -> None:
    alice, staff = people["alice"], people["staff"]
    fault_id = report(db_client, alice).json()["id"]
    closed = ok(step(db_client, staff, fault_id, "wont_fix", note="The drum is meant to pause"))
    assert (closed["status"], closed["resolution_note"]) == ("wont_fix", "The drum is meant to pause")
    assert told(db_client, alice)[-1] == (
        "fault_wont_fix",
        "Washer 1: will not be repaired",
        "The drum is meant to pause",
    )
    assert machine(db_client, "washer", 1)["open_faults"] == 0
    assert_error(step(db_client, staff, fault_id, "resolved"), 409, "already_wont_fix")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"status": "scheduled"}, 422, "eta_required"),
        ({"status": "scheduled", "eta": "2001-01-01"}, 422, "bad_eta"),
        ({"status": "scheduled", "eta": "next tuesday"}, 422, "invalid_input"),
        ({"status": "acknowledged", "eta": "2099-01-01"}, 422, "bad_eta"),
        ({"status": "wont_fix"}, 422, "note_required"),
        ({"status": "open"}, 422, "invalid_input"),
        ({"status": "fixed-ish"}, 422, "invalid_input"),
        ({"note": "no status"}, 422, "invalid_input"),
        ({"status": "acknowledged", "colour": "red"}, 422, "invalid_input"),
    ],
)
def test_bad_steps_are_refused_clearly_and_change_nothing(
    db_client: TestClient, people: dict[str, Account], body: dict[str, Any], status: int, code: str
) -> None:
    alice, staff = people["alice"], people["staff"]
    fault_id = report(db_client, alice).json()["id"]
    response = db_client.post(f"/api/v1/faults/{fault_id}/status", json=body, headers=staff.headers)
    assert_error(response, status, code)
    (shown,) = db_client.get("/api/v1/faults/", headers=staff.headers).json()["items"]
    assert (shown["status"], shown["history"]) == ("open", [])
    assert told(db_client, alice) == []


def test_a_closed_report_stays_closed_and_an_unknown_one_is_not_found(
    db_client: TestClient, people: dict[str, Account], fake_clock: FakeClock
) -> None:
    staff = people["staff"]
    fault_id = report(db_client, people["alice"]).json()["id"]
    ok(step(db_client, staff, fault_id, "resolved"))
    assert_error(step(db_client, staff, fault_id, "acknowledged"), 409, "already_resolved")
    assert_error(step(db_client, staff, fault_id, "scheduled", eta=today(fake_clock)), 409, "already_resolved")
    assert_error(step(db_client, staff, fault_id + 100, "acknowledged"), 404, "no_such_fault")


def test_students_may_not_take_steps(db_client: TestClient, people: dict[str, Account]) -> None:
    fault_id = report(db_client, people["alice"]).json()["id"]
    for student in (people["alice"], people["bob"]):
        assert_error(step(db_client, student, fault_id, "acknowledged", note="me"), 403)
    response = db_client.post(f"/api/v1/faults/{fault_id}/status", json={"status": "acknowledged"})
    assert_error(response, 401)


def test_resolve_still_works_and_is_the_resolved_step(
    db_client: TestClient, people: dict[str, Account], fake_clock: FakeClock
) -> None:
    alice, staff = people["alice"], people["staff"]
    fault_id = report(db_client, alice).json()["id"]
    ok(step(db_client, staff, fault_id, "scheduled", eta=today(fake_clock)))
    resolved = ok(db_client.post(f"/api/v1/faults/{fault_id}/resolve", json={"note": "fixed"}, headers=staff.headers))
    assert (resolved["status"], resolved["resolution_note"], resolved["eta"]) == ("resolved", "fixed", None)
    assert [s["status"] for s in resolved["history"]] == ["scheduled", "resolved"]
    again = db_client.post(f"/api/v1/faults/{fault_id}/resolve", json={}, headers=staff.headers)
    assert_error(again, 409, "already_resolved")
    listed = db_client.get("/api/v1/faults/", params={"status": "resolved"}, headers=staff.headers).json()["items"]
    assert [f["id"] for f in listed] == [fault_id]


def test_acknowledged_and_scheduled_reports_still_count_as_open(
    db_client: TestClient, people: dict[str, Account], fake_clock: FakeClock
) -> None:
    staff = people["staff"]
    first = report(db_client, people["alice"]).json()["id"]
    second = report(db_client, people["bob"]).json()["id"]
    ok(step(db_client, staff, first, "acknowledged"))
    ok(step(db_client, staff, second, "scheduled", eta=today(fake_clock)))
    assert machine(db_client, "washer", 1)["open_faults"] == 2
    active = db_client.get("/api/v1/faults/", params={"status": "active"}, headers=staff.headers).json()["items"]
    assert {f["id"] for f in active} == {first, second}
    scheduled = db_client.get("/api/v1/faults/", params={"status": "scheduled"}, headers=staff.headers).json()
    assert [f["id"] for f in scheduled["items"]] == [second]


def test_a_machine_out_of_service_says_when_it_should_be_back(
    db_client: TestClient, people: dict[str, Account], fake_clock: FakeClock
) -> None:
    staff = people["staff"]
    fault_id = report(db_client, people["alice"], kind="washer", number=2).json()["id"]
    eta = today(fake_clock) + timedelta(days=3)
    ok(step(db_client, staff, fault_id, "scheduled", eta=eta, note="Pump ordered"))
    assert machine(db_client, "washer", 2)["service_eta"] is None, "in service: nothing to come back from"

    out = db_client.post(
        "/api/v1/machines/washer/2/out-of-service", json={"reason": "pump broken"}, headers=staff.headers
    )
    assert ok(out)["service_eta"] == eta.isoformat()
    shown = machine(db_client, "washer", 2)
    assert (shown["service_reason"], shown["service_eta"]) == ("pump broken", eta.isoformat())

    ok(step(db_client, staff, fault_id, "resolved", note="New pump"))
    assert machine(db_client, "washer", 2)["service_eta"] is None, "resolving does not promise a return"
    assert machine(db_client, "washer", 2)["out_of_service"] is True


def test_the_room_repairs_show_status_eta_and_note_but_not_who_reported(
    db_client: TestClient, people: dict[str, Account], edge: FakeEdge, fake_clock: FakeClock
) -> None:
    alice, bob, staff = people["alice"], people["bob"], people["staff"]
    made = report(
        db_client, alice, kind="dryer", number=1, description="Smells of burning", photo=("a.jpg", JPEG, "image/jpeg")
    )
    burning = made.json()["id"]
    squeak = report(db_client, bob, kind="washer", number=2, description="Squeaks").json()["id"]
    gone = report(db_client, bob, kind="washer", number=1, description="Door stuck").json()["id"]
    eta = today(fake_clock) + timedelta(days=2)
    ok(step(db_client, staff, burning, "scheduled", eta=eta, note="Electrician on Monday"))
    ok(step(db_client, staff, gone, "resolved", note="Freed the latch"))

    shown = repairs(db_client, bob, edge)
    assert [(r["fault_id"], r["machine"], r["status"], r["eta"], r["note"]) for r in shown] == [
        (burning, "dryer-1", "scheduled", eta.isoformat(), "Electrician on Monday"),
        (squeak, "washer-2", "open", None, None),
    ]
    others, own = shown
    assert (others["description"], others["mine"]) == (None, False), "not bob's report: not bob's to read"
    assert (own["description"], own["mine"]) == ("Squeaks", True)
    for item in shown:
        assert not {"reporter", "photo_url", "reporter_id", "by"} & set(item)
    assert [r["description"] for r in repairs(db_client, staff, edge)] == ["Smells of burning", "Squeaks"]
    assert_error(db_client.get(f"/api/v1/rooms/{edge.room}/repairs", params={"site": edge.site}), 401)
    assert_error(db_client.get("/api/v1/rooms/nowhere/repairs", headers=bob.headers), 404, "room_not_found")


def test_each_step_is_heard_live_by_the_room_without_names(
    db_client: TestClient, people: dict[str, Account], edge: FakeEdge, fake_clock: FakeClock
) -> None:
    staff = people["staff"]
    fault_id = report(db_client, people["alice"], kind="dryer", number=1).json()["id"]
    db_client.post("/api/v1/machines/dryer/1/out-of-service", json={"reason": "lint fire"}, headers=staff.headers)
    eta = today(fake_clock) + timedelta(days=1)
    with db_client.websocket_connect(f"/api/ws?site={edge.site}&room={edge.room}", headers=people["bob"].headers) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ok(step(db_client, staff, fault_id, "scheduled", eta=eta, note="Tomorrow morning"))
        heard = until(ws, "fault_updated")
        update = heard["fault_updated"]
        assert {k: v for k, v in update.items() if k != "at"} == {
            "type": "fault_updated",
            "site": edge.site,
            "room": edge.room,
            "machine": "dryer-1",
            "kind": "dryer",
            "number": 1,
            "fault_id": fault_id,
            "status": "scheduled",
            "eta": eta.isoformat(),
            "note": "Tomorrow morning",
            "open_faults": 1,
            "automatic": False,
        }
        assert heard["machine"]["machine"]["service_eta"] == eta.isoformat()
