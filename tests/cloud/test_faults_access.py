"""Who sees which reports and photos: a student their own, staff everyone's; counts for all."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.faults_support import JPEG, Feed, assert_error, register, report


def test_the_photo_is_for_its_reporter_and_staff_only(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    reporter, other = make_account(db_client, "111111"), make_account(db_client, "222222")
    staff = make_account(db_client, "boss", role="staff")
    url = report(db_client, reporter, photo=("a.jpg", JPEG, "image/jpeg")).json()["photo_url"]
    for viewer in (reporter, staff):
        response = db_client.get(url, headers=viewer.headers)
        assert response.status_code == 200
        assert response.content == JPEG
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == "private, no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
    not_yours = assert_error(db_client.get(url, headers=other.headers), 404, "no_such_photo")
    no_such = assert_error(db_client.get("/api/v1/faults/999999/photo", headers=other.headers), 404, "no_such_photo")
    assert not_yours["message"].split(" report ")[0] == no_such["message"].split(" report ")[0]  # reveals nothing
    assert_error(db_client.get(url), 401, "not_authenticated")


def test_a_report_without_a_photo_has_none_to_show(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "111111")
    fault = report(db_client, student).json()
    assert_error(db_client.get(f"/api/v1/faults/{fault['id']}/photo", headers=student.headers), 404)


def test_students_see_their_own_reports_and_everyone_s_counts(
    db_client: TestClient, db_feed: Feed, edge: FakeEdge
) -> None:
    register(db_feed, edge)
    alice, bob = make_account(db_client, "111111"), make_account(db_client, "222222")
    report(db_client, alice, number=1, description="alice 1")
    report(db_client, bob, number=1, description="bob 1")
    report(db_client, bob, kind="dryer", number=1, description="bob 2")
    page = db_client.get("/api/v1/faults/", headers=alice.headers).json()
    assert [f["description"] for f in page["items"]] == ["alice 1"]
    assert page["items"][0]["reporter"] is None
    counts = {m["machine"]: m["open_faults"] for m in page["machines"]}
    assert counts == {"washer-1": 2, "dryer-1": 1}
    assert page["next_before"] is None


def test_staff_see_every_report_with_its_reporter(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    alice = make_account(db_client, "111111")
    staff = make_account(db_client, "boss", role="staff")
    report(db_client, alice, photo=("x.png", JPEG, "image/png"))
    report(db_client, staff, kind="dryer", description="staff saw it too")
    faults = db_client.get("/api/v1/faults/", headers=staff.headers).json()["items"]
    assert [(f["reporter"], f["mine"]) for f in faults] == [("boss", True), ("111111", False)]
    assert faults[1]["photo_url"] == f"/api/v1/faults/{faults[1]['id']}/photo"


def test_pages_go_back_in_time_with_a_cursor(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    student = make_account(db_client, "111111")
    ids = [report(db_client, student, description=f"report {n}").json()["id"] for n in range(5)]
    seen: list[int] = []
    params: dict[str, int] = {"limit": 2}
    while True:
        page = db_client.get("/api/v1/faults/", params=params, headers=student.headers).json()
        seen += [f["id"] for f in page["items"]]
        if page["next_before"] is None:
            break
        params["before"] = page["next_before"]
    assert seen == sorted(ids, reverse=True)
    assert_error(db_client.get("/api/v1/faults/", params={"limit": 0}, headers=student.headers), 422)
    assert_error(db_client.get("/api/v1/faults/"), 401)


def test_the_open_count_of_one_machine(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> None:
    register(db_feed, edge)
    alice, bob = make_account(db_client, "111111"), make_account(db_client, "222222")
    report(db_client, alice, number=2)
    report(db_client, bob, number=2)
    shown = db_client.get("/api/v1/faults/washer/2", headers=alice.headers).json()
    assert shown == {
        "site": edge.site,
        "room": "r1",
        "machine": "washer-2",
        "kind": "washer",
        "number": 2,
        "open_faults": 2,
        "out_of_service": False,
        "service_reason": None,
        "service_since": None,
    }
    assert db_client.get("/api/v1/faults/dryer/1", headers=alice.headers).json()["open_faults"] == 0
    assert_error(db_client.get("/api/v1/faults/washer/9", headers=alice.headers), 404, "no_such_machine")
    assert_error(db_client.get("/api/v1/faults/iron/1", headers=alice.headers), 422, "invalid_input")
    assert_error(db_client.get("/api/v1/faults/washer/2"), 401, "not_authenticated")
