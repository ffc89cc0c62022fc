"""``/api/v1/activities``: students see their own history, staff everyone's; pages are keyset, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.domain.activity.record import record_activity
from cloud.platform.storage import repository as repo
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge

URL = "/api/v1/activities/"


def record(client: TestClient, type: str, message: str = "something happened", **where: Any) -> int:
    """One activity entry, written the way domain code writes it (in a transaction)."""
    state = client.app.state.cloud  # type: ignore[attr-defined]
    return state.transactions.run(lambda tx: record_activity(tx, type, message, **where))


def ids(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["items"]]


def test_students_see_only_their_own_entries_newest_first(db_client: TestClient) -> None:
    alice, bob = make_account(db_client, "111111"), make_account(db_client, "222222")
    first = record(db_client, "claim_created", "You claimed washer 1", user_id=alice.id, data={"n": 1})
    record(db_client, "claim_created", "You claimed washer 2", user_id=bob.id)
    second = record(db_client, "claim_cancelled", "You cancelled", user_id=alice.id)
    record(db_client, "fault_reported", "washer 3 reports a fault")  # nobody's

    body = db_client.get(URL, headers=alice.headers).json()

    assert ids(body) == [second, first]
    assert body["next_before"] is None
    oldest = body["items"][1]
    assert oldest["type"] == "claim_created" and oldest["message"] == "You claimed washer 1"
    assert oldest["data"] == {"n": 1} and oldest["user_id"] == alice.id
    assert oldest["user"] is None, "a student's own list does not repeat who they are"
    assert oldest["room"] is None and oldest["machine"] is None
    assert oldest["created_at"].startswith("2026-01-01T00:00:00")


def test_staff_see_everyones_entries_and_whose_they_are(db_client: TestClient) -> None:
    alice, boss = make_account(db_client, "111111"), make_account(db_client, "boss", role="staff")
    mine = record(db_client, "claim_created", user_id=alice.id)
    automatic = record(db_client, "fault_reported")
    own = record(db_client, "machine_out_of_service", user_id=boss.id)

    items = db_client.get(URL, headers=boss.headers).json()["items"]

    assert [(i["id"], i["user"], i["user_id"]) for i in items] == [
        (own, "boss", boss.id),
        (automatic, None, None),
        (mine, "111111", alice.id),
    ]


def test_staff_narrow_the_log_to_a_room_and_a_type(
    db_client: TestClient, db_feed: Callable[..., Any], unique_site: str
) -> None:
    boss = make_account(db_client, "boss", role="staff")
    db_feed(FakeEdge(unique_site, "r1").info(), FakeEdge(unique_site, "r2").info())
    state = db_client.app.state.cloud  # type: ignore[attr-defined]
    with state.engine.connect() as conn:
        r1, r2 = repo.find_room(conn, unique_site, "r1"), repo.find_room(conn, unique_site, "r2")
        assert r1 is not None and r2 is not None
        washer = repo.find_machine(conn, r1.id, "washer-2")
        assert washer is not None
    started = record(db_client, "cycle_started", room_id=r1.id, machine_pk=washer.id)
    finished = record(db_client, "cycle_finished", room_id=r1.id, machine_pk=washer.id)
    record(db_client, "cycle_started", room_id=r2.id)

    in_r1 = db_client.get(URL, params={"site": unique_site, "room": "r1"}, headers=boss.headers).json()
    assert ids(in_r1) == [finished, started]
    assert (in_r1["items"][0]["room"], in_r1["items"][0]["machine"]) == (f"{unique_site}/r1", "washer-2")

    started_in_r1 = {"site": unique_site, "room": "r1", "type": "cycle_started"}
    assert ids(db_client.get(URL, params=started_in_r1, headers=boss.headers).json()) == [started]
    assert len(db_client.get(URL, params={"type": "cycle_started"}, headers=boss.headers).json()["items"]) == 2
    assert db_client.get(URL, params={"site": "elsewhere"}, headers=boss.headers).json()["items"] == []


def test_pages_stay_stable_while_new_entries_arrive(db_client: TestClient) -> None:
    """Keyset pages: entries added after page one neither repeat nor push anything out of page two."""
    alice = make_account(db_client, "111111")
    written = [record(db_client, "claim_created", f"entry {n}", user_id=alice.id) for n in range(25)]

    page_one = db_client.get(URL, params={"limit": 10}, headers=alice.headers).json()
    assert ids(page_one) == written[::-1][:10]
    for n in range(5):  # meanwhile, more happens
        record(db_client, "claim_created", f"late {n}", user_id=alice.id)
    seen = ids(page_one)
    before = page_one["next_before"]
    while before is not None:
        page = db_client.get(URL, params={"limit": 10, "before": before}, headers=alice.headers).json()
        seen += ids(page)
        before = page["next_before"]

    assert seen == written[::-1], "every entry that existed at page one, once, in order"


def test_a_full_last_page_does_not_point_at_an_empty_one(db_client: TestClient) -> None:
    alice = make_account(db_client, "111111")
    for _ in range(4):
        record(db_client, "claim_created", user_id=alice.id)
    first = db_client.get(URL, params={"limit": 2}, headers=alice.headers).json()
    second = db_client.get(URL, params={"limit": 2, "before": first["next_before"]}, headers=alice.headers).json()
    assert len(second["items"]) == 2 and second["next_before"] is None


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"before": 0}, {"before": "x"}, {"type": "x" * 41}]
)
def test_paging_arguments_are_validated(db_client: TestClient, params: dict[str, Any]) -> None:
    alice = make_account(db_client, "111111")
    response = db_client.get(URL, params=params, headers=alice.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_one_users_log_is_theirs_or_staffs_to_read(db_client: TestClient) -> None:
    alice, bob = make_account(db_client, "111111"), make_account(db_client, "222222")
    boss = make_account(db_client, "boss", role="staff")
    entry = record(db_client, "claim_created", user_id=alice.id)
    record(db_client, "claim_created", user_id=bob.id)
    alices_log = f"{URL}user/{alice.id}"

    own = db_client.get(alices_log, headers=alice.headers)
    assert own.status_code == 200 and ids(own.json()) == [entry]
    as_staff = db_client.get(alices_log, headers=boss.headers).json()
    assert ids(as_staff) == [entry] and as_staff["items"][0]["user"] == "111111"

    snooping = db_client.get(alices_log, headers=bob.headers)
    missing = db_client.get(f"{URL}user/999999", headers=bob.headers)
    assert snooping.status_code == missing.status_code == 404
    assert snooping.json() == missing.json(), "another student's log looks exactly like one that does not exist"
    assert db_client.get(f"{URL}user/999999", headers=boss.headers).status_code == 404


@pytest.mark.parametrize("path", ["", "user/1"])
def test_anonymous_requests_are_refused(db_client: TestClient, path: str) -> None:
    response = db_client.get(URL + path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    bad = db_client.get(URL + path, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
