"""``/api/v1/notifications``: a user's own notifications — list, unread badge, read, read all, delete."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.domain.notifications.send import notify
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account

URL = "/api/v1/notifications/"


def send(client: TestClient, user: Account, title: str = "Your washer is done", **data: Any) -> int:
    """One notification, written the way domain code writes it (in a transaction)."""
    state = client.app.state.cloud  # type: ignore[attr-defined]
    return state.transactions.run(
        lambda tx: notify(tx, user.id, "cycle_finished", title, "Collect your laundry.", data)
    )


def ids(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["items"]]


def test_a_user_lists_their_own_notifications_newest_first(db_client: TestClient) -> None:
    alice, bob = make_account(db_client, "111111"), make_account(db_client, "222222")
    first = send(db_client, alice, machine="washer-1")
    send(db_client, bob)
    second = send(db_client, alice, "Washer 2 is yours")

    body = db_client.get(URL, headers=alice.headers).json()

    assert ids(body) == [second, first]
    assert (body["next_before"], body["unread_count"]) == (None, 2)
    assert body["items"][1] == {
        "id": first,
        "type": "cycle_finished",
        "title": "Your washer is done",
        "body": "Collect your laundry.",
        "data": {"machine": "washer-1"},
        "created_at": "2026-01-01T00:00:00Z",
        "read": False,
        "read_at": None,
    }


def test_unread_filter_and_count(db_client: TestClient) -> None:
    alice = make_account(db_client, "111111")
    sent = [send(db_client, alice) for _ in range(3)]
    assert db_client.put(f"{URL}{sent[1]}/read", headers=alice.headers).status_code == 200

    everything = db_client.get(URL, headers=alice.headers).json()
    unread = db_client.get(URL, params={"unread": "true"}, headers=alice.headers).json()

    assert ids(everything) == sent[::-1] and everything["unread_count"] == 2
    assert ids(unread) == [sent[2], sent[0]] and unread["unread_count"] == 2
    assert [item["read"] for item in everything["items"]] == [False, True, False]


def test_the_unread_count_covers_every_page(db_client: TestClient) -> None:
    alice = make_account(db_client, "111111")
    for _ in range(5):
        send(db_client, alice)
    page = db_client.get(URL, params={"limit": 2}, headers=alice.headers).json()
    assert len(page["items"]) == 2 and page["unread_count"] == 5


def test_marking_read_is_idempotent(db_client: TestClient, fake_clock: FakeClock) -> None:
    alice = make_account(db_client, "111111")
    sent = send(db_client, alice)
    fake_clock.advance(60)
    once = db_client.put(f"{URL}{sent}/read", headers=alice.headers)
    fake_clock.advance(60)
    twice = db_client.put(f"{URL}{sent}/read", headers=alice.headers)

    assert once.status_code == twice.status_code == 200
    assert once.json() == twice.json(), "reading it again keeps the first read time"
    assert once.json()["read"] is True and once.json()["read_at"] == "2026-01-01T00:01:00Z"
    assert db_client.get(URL, headers=alice.headers).json()["unread_count"] == 0


def test_mark_all_read_touches_only_the_users_unread_ones(db_client: TestClient) -> None:
    alice, bob = make_account(db_client, "111111"), make_account(db_client, "222222")
    already = send(db_client, alice)
    db_client.put(f"{URL}{already}/read", headers=alice.headers)
    send(db_client, alice)
    send(db_client, alice)
    send(db_client, bob)

    assert db_client.post(f"{URL}read-all", headers=alice.headers).json() == {"updated": 2}
    assert db_client.post(f"{URL}read-all", headers=alice.headers).json() == {"updated": 0}
    assert db_client.get(URL, headers=alice.headers).json()["unread_count"] == 0
    assert db_client.get(URL, headers=bob.headers).json()["unread_count"] == 1


def test_deleting_removes_it(db_client: TestClient) -> None:
    alice = make_account(db_client, "111111")
    kept, gone = send(db_client, alice), send(db_client, alice)

    response = db_client.delete(f"{URL}{gone}", headers=alice.headers)

    assert response.status_code == 204 and response.content == b""
    assert ids(db_client.get(URL, headers=alice.headers).json()) == [kept]
    assert db_client.delete(f"{URL}{gone}", headers=alice.headers).status_code == 404
    assert db_client.put(f"{URL}{gone}/read", headers=alice.headers).status_code == 404


def test_someone_elses_notification_is_not_found(db_client: TestClient) -> None:
    alice, bob = make_account(db_client, "111111"), make_account(db_client, "222222")
    alices = send(db_client, alice)

    read = db_client.put(f"{URL}{alices}/read", headers=bob.headers)
    deleted = db_client.delete(f"{URL}{alices}", headers=bob.headers)
    missing = db_client.put(f"{URL}999999/read", headers=bob.headers)

    assert read.status_code == deleted.status_code == missing.status_code == 404
    assert read.json() == missing.json(), "indistinguishable from an id that does not exist"
    body = db_client.get(URL, headers=alice.headers).json()
    assert ids(body) == [alices] and body["unread_count"] == 1, "untouched"


def test_pages_stay_stable_while_new_notifications_arrive(db_client: TestClient) -> None:
    alice = make_account(db_client, "111111")
    sent = [send(db_client, alice) for _ in range(7)]
    first = db_client.get(URL, params={"limit": 3, "unread": "true"}, headers=alice.headers).json()
    send(db_client, alice)
    send(db_client, alice)
    rest = []
    before = first["next_before"]
    while before is not None:
        page = db_client.get(URL, params={"limit": 3, "before": before, "unread": "true"}, headers=alice.headers)
        rest += ids(page.json())
        before = page.json()["next_before"]
    assert ids(first) + rest == sent[::-1]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"before": -1}, {"unread": "maybe"}])
def test_list_arguments_are_validated(db_client: TestClient, params: dict[str, Any]) -> None:
    alice = make_account(db_client, "111111")
    response = db_client.get(URL, params=params, headers=alice.headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(("method", "path"), [("GET", ""), ("PUT", "1/read"), ("DELETE", "1"), ("POST", "read-all")])
def test_anonymous_requests_are_refused(db_client: TestClient, method: str, path: str) -> None:
    response = db_client.request(method, URL + path)
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
