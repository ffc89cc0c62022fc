"""A write whose transaction cannot begin or commit: 503 ``try_again`` (or 409 ``conflict``),
nothing of it stored, no live message, no web push — and the same request then succeeds.

Real failures only: on SQLite another connection holds the write lock (``BEGIN
IMMEDIATE``) past the app's busy timeout; on PostgreSQL a deferred constraint trigger
raises a serialization failure at COMMIT, or a deferred unique constraint is violated at
COMMIT. The write is joining the dryer waitlist: with the dryer free it also holds the
dryer for the student, so the one transaction writes a waitlist entry, activity rows and a
notification, and queues live messages and a web push.

To prove a WebSocket client heard nothing of the failed write, the test then sends that
client a sentinel through the hub: the hub keeps each client's order, so a leaked message
would arrive before it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from cloud.platform.hub import Audience
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.engine import SQLITE_BUSY_TIMEOUT_S
from cloud.platform.storage.tables import activities, notifications, waitlist_entries
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import open_room
from tests.cloud.push_support import Browser, FakePushService, wait_for_pushes

WS = "/api/ws"
JOIN = "/api/v1/waitlist/join"
DRYERS = {"machine_type": "dryer"}
SENTINEL = "commit_failure_sentinel"


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with FakePushService() as service:
        yield service


def start_app(database_url: str, site: str, tmp_path: Path, clock: FakeClock) -> TestClient:
    settings = CloudSettings(
        database_url=database_url,
        ingest_enabled=False,
        ingest_site=site,
        photo_dir=str(tmp_path / "photos"),
        timer_loop=False,
        web_push=True,
    )
    # A 500 comes back as a response (with its body), not as an exception in the test.
    return TestClient(create_app(settings, clock=clock), raise_server_exceptions=False)


def app_with_room(
    database_url: str, site: str, tmp_path: Path, clock: FakeClock, edge: FakeEdge
) -> Iterator[TestClient]:
    with start_app(database_url, site, tmp_path, clock) as client:

        def feed(*messages: tuple[str, bytes]) -> list[Any]:
            ingest = client.app.state.cloud.ingest  # type: ignore[attr-defined]
            assert client.portal is not None
            return [client.portal.call(ingest.handle, topic, payload) for topic, payload in messages]

        open_room(client, feed, edge, clock)
        yield client


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "locked.db"


@pytest.fixture
def sqlite_client(
    sqlite_file: Path, unique_site: str, tmp_path: Path, fake_clock: FakeClock, edge: FakeEdge
) -> Iterator[TestClient]:
    yield from app_with_room(f"sqlite:///{sqlite_file}", unique_site, tmp_path, fake_clock, edge)


@pytest.fixture
def pg_client(
    postgres_url: str, unique_site: str, tmp_path: Path, fake_clock: FakeClock, edge: FakeEdge
) -> Iterator[TestClient]:
    yield from app_with_room(postgres_url, unique_site, tmp_path, fake_clock, edge)


def state_of(client: TestClient) -> Any:
    return client.app.state.cloud  # type: ignore[attr-defined]


def subscribe_browser(client: TestClient, user: Account, service: FakePushService, path: str) -> None:
    made = client.post(
        "/api/v1/push/subscriptions", json=Browser().subscription(service.url(path)), headers=user.headers
    )
    assert made.status_code == 201, made.text


def stored(client: TestClient, user: Account) -> dict[str, int]:
    """What the join route writes for ``user``, counted straight from the tables."""
    with state_of(client).engine.connect() as conn:

        def count(table: Any) -> int:
            query = select(func.count()).select_from(table).where(table.c.user_id == user.id)
            return int(conn.execute(query).scalar_one())

        return {
            "waitlist_entries": count(waitlist_entries),
            "activities": count(activities),
            "notifications": count(notifications),
        }


NOTHING = {"waitlist_entries": 0, "activities": 0, "notifications": 0}


def activity_ids(client: TestClient, user: Account) -> list[int]:
    listed = client.get("/api/v1/activities/", headers=user.headers)
    assert listed.status_code == 200, listed.text
    return [item["id"] for item in listed.json()["items"]]


def send_sentinel(client: TestClient, user: Account, n: int) -> None:
    state_of(client).hub.send({"type": SENTINEL, "n": n}, Audience.of_user(user.id))


def messages_until_sentinel(ws: Any, n: int, limit: int = 100) -> list[dict[str, Any]]:
    """Everything the client receives before sentinel ``n`` (which must come within ``limit``)."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        message: dict[str, Any] = ws.receive_json()
        if message["type"] == SENTINEL:
            assert message["n"] == n, message
            return seen
        seen.append(message)
    raise AssertionError(f"no sentinel {n} among {limit} messages: {seen}")


def cause_logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    """``cloud.platform.unit_of_work`` logged the database error it answered for (so it was that one)."""
    logged = [r.getMessage() for r in caplog.records if r.name == "cloud.platform.unit_of_work"]
    assert any(text in line for line in logged), logged


def assert_try_again(response: Any) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.json()["error"]["code"] == "try_again", response.text
    assert response.headers.get("Retry-After") == "1", dict(response.headers)


def assert_joined_and_heard(
    client: TestClient, ws: Any, user: Account, *, position: int, held: bool
) -> list[dict[str, Any]]:
    """After a successful join: the client heard exactly one join, the one that is stored."""
    send_sentinel(client, user, 2)
    heard = messages_until_sentinel(ws, 2)
    joined = [
        m["activity"]["id"] for m in heard if m["type"] == "activity" and m["activity"]["type"] == "waitlist_joined"
    ]
    assert len(joined) == 1, heard
    assert joined[0] in activity_ids(client, user)
    mine = client.get("/api/v1/waitlist/dryer", headers=user.headers).json()
    assert mine["my_position"] == position
    assert (mine["entries"][position - 1]["status"] == "offered") is held
    return heard


def test_sqlite_a_write_blocked_by_another_writer_answers_try_again_and_leaves_no_trace(
    sqlite_client: TestClient, sqlite_file: Path, push_service: FakePushService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cloud.platform.unit_of_work")
    client = sqlite_client
    alice = make_account(client, "100001")
    subscribe_browser(client, alice, push_service, "/push/alice")
    assert stored(client, alice) == NOTHING

    with client.websocket_connect(WS, headers=alice.headers) as ws:
        assert ws.receive_json()["type"] == "snapshot"

        other = sqlite3.connect(sqlite_file, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # the write lock, held by another connection
            started = time.monotonic()
            refused = client.post(JOIN, json=DRYERS, headers=alice.headers)
            waited = time.monotonic() - started
            assert_try_again(refused)
            cause_logged(caplog, "write not committed (OperationalError)")
            assert waited >= SQLITE_BUSY_TIMEOUT_S * 0.9, waited  # it waited out the busy timeout first
            # Reads are not blocked by the writer (WAL): nothing of the write is there.
            assert client.get("/api/v1/waitlist/dryer", headers=alice.headers).json()["length"] == 0
        finally:
            other.execute("ROLLBACK")
            other.close()

        assert stored(client, alice) == NOTHING
        assert activity_ids(client, alice) == []
        wait_for_pushes(client)
        assert push_service.received == []  # no web push was queued for the failed write
        send_sentinel(client, alice, 1)
        assert messages_until_sentinel(ws, 1) == []  # and no live message went out

        retried = client.post(JOIN, json=DRYERS, headers=alice.headers)
        assert retried.status_code == 201, retried.text
        assert_joined_and_heard(client, ws, alice, position=1, held=True)

    assert stored(client, alice) == {"waitlist_entries": 1, "activities": 2, "notifications": 1}
    wait_for_pushes(client)
    assert [push.path for push in push_service.received] == ["/push/alice"]  # the hold, once


FAIL_AT_COMMIT = """
CREATE FUNCTION kywash_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'simulated conflict' USING ERRCODE = '40001';
END $$;
CREATE CONSTRAINT TRIGGER kywash_test_fail_at_commit AFTER INSERT ON waitlist_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kywash_test_fail();
"""
NO_FAIL_AT_COMMIT = """
DROP TRIGGER kywash_test_fail_at_commit ON waitlist_entries;
DROP FUNCTION kywash_test_fail();
"""
ONE_PER_LIST = (
    "ALTER TABLE waitlist_entries ADD CONSTRAINT kywash_test_one_per_list "
    "UNIQUE (room_id, kind) DEFERRABLE INITIALLY DEFERRED"
)
NOT_ONE_PER_LIST = "ALTER TABLE waitlist_entries DROP CONSTRAINT kywash_test_one_per_list"


def ddl(client: TestClient, sql: str) -> None:
    with state_of(client).engine.begin() as conn:
        conn.exec_driver_sql(sql)


def pg_failed_write(
    client: TestClient,
    ws: Any,
    user: Account,
    service: FakePushService,
    check: Callable[[Any], None],
) -> None:
    """The join fails at commit as ``check`` expects; nothing stored, heard or pushed."""
    before = stored(client, user)
    refused = client.post(JOIN, json=DRYERS, headers=user.headers)
    check(refused)
    assert stored(client, user) == before
    pushed = len(service.received)
    wait_for_pushes(client)
    assert len(service.received) == pushed
    send_sentinel(client, user, 1)
    assert messages_until_sentinel(ws, 1) == []


def test_postgres_a_serialization_failure_at_commit_answers_try_again_and_leaves_no_trace(
    pg_client: TestClient, push_service: FakePushService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cloud.platform.unit_of_work")
    client = pg_client
    alice = make_account(client, "100001")
    subscribe_browser(client, alice, push_service, "/push/alice")

    with client.websocket_connect(WS, headers=alice.headers) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ddl(client, FAIL_AT_COMMIT)
        pg_failed_write(client, ws, alice, push_service, assert_try_again)
        cause_logged(caplog, "write not committed (SerializationFailure)")
        assert stored(client, alice) == NOTHING
        assert activity_ids(client, alice) == []
        assert client.get("/api/v1/waitlist/dryer", headers=alice.headers).json()["length"] == 0

        ddl(client, NO_FAIL_AT_COMMIT)
        retried = client.post(JOIN, json=DRYERS, headers=alice.headers)
        assert retried.status_code == 201, retried.text
        assert_joined_and_heard(client, ws, alice, position=1, held=True)

    assert stored(client, alice) == {"waitlist_entries": 1, "activities": 2, "notifications": 1}
    wait_for_pushes(client)
    assert [push.path for push in push_service.received] == ["/push/alice"]


def assert_conflict(response: Any) -> None:
    assert response.status_code == 409, (response.status_code, response.text)
    assert response.json()["error"]["code"] == "conflict", response.text
    assert "Retry-After" not in response.headers


def test_postgres_a_unique_violation_at_commit_answers_conflict_and_leaves_no_trace(
    pg_client: TestClient, push_service: FakePushService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cloud.platform.unit_of_work")
    client = pg_client
    alice, bob = make_account(client, "100001"), make_account(client, "100002")
    subscribe_browser(client, bob, push_service, "/push/bob")
    ddl(client, ONE_PER_LIST)  # a deferred rule the app does not know: one entry per list, checked at COMMIT
    first = client.post(JOIN, json=DRYERS, headers=alice.headers)
    assert first.status_code == 201, first.text  # alice now holds the dryer

    with client.websocket_connect(WS, headers=bob.headers) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        pg_failed_write(client, ws, bob, push_service, assert_conflict)
        cause_logged(caplog, "kywash_test_one_per_list")
        assert stored(client, bob) == NOTHING
        assert activity_ids(client, bob) == []
        listed = client.get("/api/v1/waitlist/dryer", headers=bob.headers).json()
        assert (listed["length"], listed["my_position"]) == (1, None)

        ddl(client, NOT_ONE_PER_LIST)
        retried = client.post(JOIN, json=DRYERS, headers=bob.headers)
        assert retried.status_code == 201, retried.text
        assert_joined_and_heard(client, ws, bob, position=2, held=False)

    assert stored(client, bob) == {"waitlist_entries": 1, "activities": 1, "notifications": 0}
    wait_for_pushes(client)
    assert push_service.received == []  # bob waits behind alice: nothing to push to him
