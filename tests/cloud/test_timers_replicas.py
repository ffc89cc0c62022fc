"""Stored deadlines fire exactly once when several replicas look at the same database at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.processes.timers import Fired, fire_due
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import open_room


def test_two_replicas_fire_each_deadline_once(
    db_client: TestClient,
    db_feed: Callable[..., list[Any]],
    db_settings: CloudSettings,
    edge: FakeEdge,
    fake_clock: FakeClock,
) -> None:
    room = open_room(db_client, db_feed, edge, fake_clock)
    students = [make_account(db_client, f"10000{n}") for n in range(1, 4)]
    for number, student in zip((1, 2), students, strict=False):
        assert (
            room.post("/machines/start", {"machine_type": "washer", "machine_id": number}, student.headers).status_code
            == 201
        )
    room.post("/machines/start", {"machine_type": "dryer", "machine_id": 1}, students[2].headers)
    fake_clock.advance(6 * 60)

    with TestClient(create_app(db_settings, clock=fake_clock)) as other:
        states = [db_client.app.state.cloud, other.app.state.cloud]  # type: ignore[attr-defined]
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

    assert sum(r.expired_claims for r in results) == 3
    for student in students:
        assert [t for t, _ in room.notifications(student.id)] == ["claim_expired"]
