"""The machine's live claim reaches the edge in its desired state: a prior for the cycle detector.

Revisions are checked on SQLite and PostgreSQL with edge messages fed to ingest; the
retained message itself with ingest on against the in-process amqtt broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.platform.storage.tables import machines
from kywash.clock import FakeClock
from kywash.contract import MachineDesired, machine_topic
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import EdgePublisher, FakeEdge, wait_until
from tests.cloud.laundry_support import Room, open_room
from tests.conftest import BrokerHandle
from tests.support.mqtt_watch import MqttWatcher

WASHER_1 = {"machine_type": "washer", "machine_id": 1}


def revision(client: TestClient, machine_id: str = "washer-1") -> int:
    engine = client.app.state.cloud.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.scalar(select(machines.c.desired_revision).where(machines.c.machine_id == machine_id)))


@pytest.fixture
def room(db_client: TestClient, db_feed: Callable[..., list[Any]], edge: FakeEdge, fake_clock: FakeClock) -> Room:
    return open_room(db_client, db_feed, edge, fake_clock)


def test_a_new_revision_when_a_claim_is_made_and_when_it_closes_not_while_it_runs(room: Room) -> None:
    alice = make_account(room.client, "100001")
    assert revision(room.client) == 0
    assert room.post("/machines/start", {**WASHER_1, "category": "extra_10"}, alice.headers).status_code == 201
    assert revision(room.client) == 1
    for what in ("start", "pause", "start", "finish"):  # the claim stays live: the prior is unchanged
        room.sensors("washer-1", what)
    assert revision(room.client) == 1
    room.sensors("washer-1", "open")  # the claim ends
    assert revision(room.client) == 2
    room.sensors("washer-1", "close")

    assert room.post("/machines/start", WASHER_1, alice.headers).status_code == 201
    assert room.fire(minutes=room.client.app.state.cloud.settings.claim_confirm_minutes + 1).expired_claims == 1  # type: ignore[attr-defined]
    assert revision(room.client) == 4
    assert revision(room.client, "washer-2") == 0  # other machines are left alone


def test_taking_a_claimed_machine_out_of_service_drops_its_prior_too(room: Room) -> None:
    alice, staff = make_account(room.client, "100001"), make_account(room.client, "boss", role="staff")
    assert room.post("/machines/start", WASHER_1, alice.headers).status_code == 201
    out = room.client.post("/api/v1/machines/washer/1/out-of-service", json={"reason": "leaks"}, headers=staff.headers)
    assert out.status_code == 200, out.text
    assert revision(room.client) == 3  # claimed; out of service; the pending claim cancelled


# --- over a real broker --------------------------------------------------------------------


def desired(payload: Any) -> MachineDesired:
    return MachineDesired.model_validate(payload)


def test_the_retained_desired_state_carries_the_live_claims_category(
    app_client: TestClient, publisher: EdgePublisher, amqtt_broker: BrokerHandle, unique_site: str
) -> None:
    edge = FakeEdge(site=unique_site)
    publisher.publish(edge.info(), retain=True)
    publisher.publish(edge.status(), retain=True)
    for machine in edge.machines:
        publisher.publish(edge.state(machine.id), retain=True)
    wait_until(lambda: app_client.get("/api/v1/machines/washer/1").json().get("state") == "idle", what="the room")
    topic = machine_topic(unique_site, "r1", "washer-1", "desired")
    publisher.retained.add(topic)  # cleared on close
    alice = make_account(app_client, "100001")
    live = MqttWatcher(amqtt_broker.host, amqtt_broker.port, topic)
    try:
        claimed = app_client.post(
            "/api/v1/machines/start", json={**WASHER_1, "category": "extra_10"}, headers=alice.headers
        )
        assert claimed.status_code == 201, claimed.text
        _, payload, _ = live.next("/desired")
        sent = desired(payload)
        assert (sent.claim_category, sent.claim_extra_minutes, sent.out_of_service, sent.revision) == (
            "extra_10",
            10,
            False,
            1,
        )

        # the edge reconnecting: the retained copy has it
        reader = MqttWatcher(amqtt_broker.host, amqtt_broker.port, topic)
        try:
            _, payload, retained = reader.next("/desired")
            assert retained and desired(payload).claim_category == "extra_10"
        finally:
            reader.close()

        cancelled = app_client.post("/api/v1/machines/cancel", json=WASHER_1, headers=alice.headers)
        assert cancelled.status_code == 200, cancelled.text
        _, payload, _ = live.next("/desired")
        sent = desired(payload)
        assert (sent.claim_category, sent.claim_extra_minutes, sent.revision) == (None, 0, 2)
    finally:
        live.close()
