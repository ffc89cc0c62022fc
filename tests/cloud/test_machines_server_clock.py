"""The REST machine list says what the server's clock reads, as the WebSocket snapshot does.

A logged-out page only polls this answer; without the server's now and rate it counted on
the device's clock, so a phone hours off, or the demo's sped-up server, showed inflated
time left and "updated 0 s ago" (issue 15). The answer is cached text: the clock's fields
must still be this answer's, for the anonymous and the personal rendering alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock, ScaledClock, iso, to_datetime
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import open_room


def test_each_answer_carries_the_servers_now_even_from_the_cache(
    db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock
) -> None:
    room = open_room(db_client, db_feed, edge, fake_clock)
    first = db_client.get("/api/v1/machines/").json()
    assert (first["server_time"], first["rate"]) == (iso(to_datetime(fake_clock.now())), 1.0)
    fake_clock.advance(90)
    cached = db_client.get("/api/v1/machines/").json()
    assert cached["server_time"] == iso(to_datetime(fake_clock.now()))
    assert cached["washers"] == first["washers"]

    alice = make_account(db_client, "100001")
    room.post("/machines/start", {"machine_type": "washer", "machine_id": 1}, alice.headers)
    answer = db_client.get("/api/v1/machines/", headers=alice.headers)  # rendered for her alone
    personal = answer.json()
    assert personal["washers"][0]["mine"] is True
    assert personal["server_time"] == iso(to_datetime(fake_clock.now()))
    assert (answer.text.count('"server_time"'), answer.text.count('"rate"')) == (1, 1)


def test_a_sped_up_servers_rate_is_its_speed(offline_settings: CloudSettings) -> None:
    clock = ScaledClock(speed=60.0, start=1_767_225_600.0)
    with TestClient(create_app(offline_settings, clock=clock)) as client:
        body = client.get("/api/v1/machines/").json()
    assert body["rate"] == 60.0
    assert body["server_time"].startswith("2026-01-01T00:")
