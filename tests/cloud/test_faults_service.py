"""Out of service and back: by staff, and automatically after reports from distinct students."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.platform.storage.tables import activities, machines, notifications
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.faults_support import Feed, assert_error, machine, register, report

OUT = "/api/v1/machines/washer/1/out-of-service"
BACK = "/api/v1/machines/washer/1/back-in-service"


def rows(client: TestClient, query: Any) -> list[Any]:
    with client.app.state.cloud.engine.connect() as conn:  # type: ignore[attr-defined]
        return list(conn.execute(query))


def activity_types(client: TestClient) -> list[str]:
    return [row.type for row in rows(client, select(activities.c.type).order_by(activities.c.id))]


def notified(client: TestClient, account: Account) -> list[str]:
    query = select(notifications.c.type).where(notifications.c.user_id == account.id).order_by(notifications.c.id)
    return [row.type for row in rows(client, query)]


def desired_revision(client: TestClient, machine_id: str) -> int:
    (row,) = rows(client, select(machines.c.desired_revision).where(machines.c.machine_id == machine_id))
    return int(row.desired_revision)


def test_staff_take_a_machine_out_of_service_and_back(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    staff = make_account(db_client, "boss", role="staff")
    out = db_client.post(OUT, json={"reason": "  Door seal torn  "}, headers=staff.headers)
    assert out.status_code == 200, out.text
    shown = out.json()
    assert (shown["id"], shown["out_of_service"], shown["usage"]) == ("washer-1", True, "out_of_service")
    assert shown["service_reason"] == "Door seal torn" and shown["service_since"] is not None
    assert machine(db_client, "washer", 1)["out_of_service"] is True
    assert desired_revision(db_client, "washer-1") == 1
    assert_error(db_client.post(OUT, json={"reason": "again"}, headers=staff.headers), 409, "already_out_of_service")

    back = db_client.post(BACK, json={"note": "new seal fitted"}, headers=staff.headers)
    assert back.status_code == 200, back.text
    assert (back.json()["out_of_service"], back.json()["service_reason"], back.json()["usage"]) == (False, None, "free")
    assert desired_revision(db_client, "washer-1") == 2
    assert_error(db_client.post(BACK, headers=staff.headers), 409, "already_in_service")
    assert activity_types(db_client) == ["machine_out_of_service", "machine_back_in_service"]
    assert notified(db_client, staff) == ["machine_out_of_service", "machine_back_in_service"]


def test_service_routes_are_for_staff_only(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "123456")
    staff = make_account(db_client, "boss", role="staff")
    for url, body in ((OUT, {"reason": "broken"}), (BACK, {})):
        assert_error(db_client.post(url, json=body, headers=student.headers), 403, "forbidden")
        assert_error(db_client.post(url, json=body), 401, "not_authenticated")
    assert_error(db_client.post(OUT, json={"reason": ""}, headers=staff.headers), 422, "invalid_input")
    assert_error(db_client.post(OUT, json={}, headers=staff.headers), 422, "invalid_input")
    missing = "/api/v1/machines/dryer/4/out-of-service"
    assert_error(db_client.post(missing, json={"reason": "x"}, headers=staff.headers), 404, "no_such_machine")
    assert machine(db_client, "washer", 1)["out_of_service"] is False


def test_distinct_students_take_a_machine_out_of_service(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    first, second, third = (make_account(db_client, login) for login in ("111111", "222222", "333333"))
    staff = make_account(db_client, "boss", role="staff")
    for account in (first, first, second, staff):  # one student twice counts once; staff do not count
        assert report(db_client, account).status_code == 201
    shown = machine(db_client, "washer", 1)
    assert (shown["open_faults"], shown["out_of_service"]) == (4, False)

    assert report(db_client, third).status_code == 201
    shown = machine(db_client, "washer", 1)
    assert (shown["open_faults"], shown["out_of_service"], shown["usage"]) == (5, True, "out_of_service")
    assert shown["service_reason"] == "3 open fault reports"
    assert machine(db_client, "washer", 2)["out_of_service"] is False
    (by,) = rows(db_client, select(machines.c.service_by).where(machines.c.machine_id == "washer-1"))
    assert by.service_by is None  # automatic
    assert desired_revision(db_client, "washer-1") == 1
    assert notified(db_client, staff) == ["machine_out_of_service"]
    assert activity_types(db_client).count("machine_out_of_service") == 1
    assert report(db_client, make_account(db_client, "444444")).status_code == 201  # already out: no change
    assert desired_revision(db_client, "washer-1") == 1


def test_resolved_reports_stop_counting_but_do_not_return_the_machine(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge
) -> None:
    register(db_feed, edge)
    students = [make_account(db_client, login) for login in ("111111", "222222", "333333")]
    staff = make_account(db_client, "boss", role="staff")
    ids = [report(db_client, s).json()["id"] for s in students[:2]]
    resolved = db_client.post(
        f"/api/v1/faults/{ids[0]}/resolve", json={"note": "hose tightened"}, headers=staff.headers
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["resolution_note"], body["resolved_by"], body["reporter"]) == (
        "resolved",
        "hose tightened",
        "boss",
        "111111",
    )
    assert body["resolved_at"] is not None
    assert notified(db_client, students[0]) == ["fault_resolved"]
    report(db_client, students[2])
    assert machine(db_client, "washer", 1)["out_of_service"] is False  # 2 open, from 2 students

    report(db_client, students[0])
    assert machine(db_client, "washer", 1)["out_of_service"] is True
    for fault_id in [*ids[1:], *(f["id"] for f in _open(db_client, staff))]:
        db_client.post(f"/api/v1/faults/{fault_id}/resolve", headers=staff.headers)
    shown = machine(db_client, "washer", 1)
    assert (shown["open_faults"], shown["out_of_service"]) == (0, True)  # staff decide when it returns


def _open(client: TestClient, staff: Account) -> list[dict[str, Any]]:
    page = client.get("/api/v1/faults/", params={"status": "open"}, headers=staff.headers).json()
    faults: list[dict[str, Any]] = page["items"]
    return faults


def test_resolving_is_for_staff_and_happens_once(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "111111")
    staff = make_account(db_client, "boss", role="staff")
    url = f"/api/v1/faults/{report(db_client, student).json()['id']}/resolve"
    assert_error(db_client.post(url, json={"note": "mine"}, headers=student.headers), 403, "forbidden")
    assert_error(db_client.post(url, json={"note": "x"}), 401, "not_authenticated")
    assert db_client.post(url, headers=staff.headers).status_code == 200
    assert_error(db_client.post(url, json={"note": "again"}, headers=staff.headers), 409, "already_resolved")
    assert_error(db_client.post("/api/v1/faults/99999/resolve", headers=staff.headers), 404, "no_such_fault")
    assert_error(db_client.post(url, json={"note": "x" * 1001}, headers=staff.headers), 422, "invalid_input")
    assert "fault_resolved" in activity_types(db_client)
