"""The cached machine list never shows a state older than the last committed change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from cloud.domain.machines.cache import ViewCache
from kywash.clock import FakeClock
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import open_room


def washer_1(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = client.get("/api/v1/machines/", headers=headers or {}).json()
    found: dict[str, Any] = body["washers"][0]
    return found


def test_every_change_is_seen_at_once_and_personal_views_stay_personal(
    db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock
) -> None:
    room = open_room(db_client, db_feed, edge, fake_clock)
    alice, bob = make_account(db_client, "100001"), make_account(db_client, "100002")
    assert washer_1(db_client)["usage"] == "free"
    assert washer_1(db_client)["usage"] == "free"  # served from the cache
    room.post("/machines/start", {"machine_type": "washer", "machine_id": 1}, alice.headers)
    assert washer_1(db_client)["usage"] == "claimed"
    assert washer_1(db_client, alice.headers)["mine"] is True
    assert washer_1(db_client, bob.headers)["mine"] is False
    room.sensors("washer-1", "start")
    assert washer_1(db_client)["state"] == "running"
    room.fire(minutes=10)
    room.sensors("washer-1", "finish")
    assert washer_1(db_client)["usage"] == "finished"
    cache = db_client.app.state.cloud.views  # type: ignore[attr-defined]
    assert cache.hits >= 1


def test_a_reader_that_started_before_a_change_does_not_store_its_answer() -> None:
    cache = ViewCache(ttl_s=60)
    before = cache.generation
    cache.clear()  # a change commits while the reader is still building
    cache.put("room", b"stale", before)
    assert cache.get("room") is None
    cache.put("room", b"fresh", cache.generation)
    assert cache.get("room") == b"fresh"


def test_entries_expire() -> None:
    cache = ViewCache(ttl_s=0)
    cache.put("room", b"body", cache.generation)
    assert cache.get("room") is None
