"""Learned machine profiles: kept from the edge's ``profile`` topic, given back when its room comes online.

Storage rules run on SQLite and PostgreSQL with messages fed to ingest; the restore runs
with ingest on against the in-process amqtt broker, a plain paho client playing the edge.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.domain.ingest.apply import Applied
from cloud.platform.storage.tables import machines
from cloud.processes.ingest_metrics import IngestMetrics
from kywash.contract import MachineProfile, machine_topic
from tests.cloud.fake_edge import EdgePublisher, FakeEdge, wait_until
from tests.conftest import BrokerHandle
from tests.support.mqtt_watch import MqttWatcher

Feed = Callable[..., list[Any]]


def metrics_of(client: TestClient) -> IngestMetrics:
    metrics: IngestMetrics = client.app.state.cloud.ingest.metrics  # type: ignore[attr-defined]
    return metrics


def stored(client: TestClient, machine_id: str) -> tuple[dict[str, Any] | None, int]:
    engine = client.app.state.cloud.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        row = conn.execute(
            select(machines.c.profile, machines.c.profile_learned).where(machines.c.machine_id == machine_id)
        ).one()
    return row.profile, int(row.profile_learned)


@pytest.fixture
def room(db_client: TestClient, db_feed: Feed, edge: FakeEdge) -> FakeEdge:
    db_feed(edge.info(), edge.status())
    return edge


def test_a_profile_is_stored_as_published_and_counted(db_client: TestClient, db_feed: Feed, room: FakeEdge) -> None:
    topic, payload = room.profile("dryer-1", learned=3, cycles=2)
    (applied,) = db_feed((topic, payload))
    assert isinstance(applied, Applied) and applied.kind == "profile"
    profile, learned = stored(db_client, "dryer-1")
    assert learned == 3
    assert MachineProfile.model_validate(profile) == MachineProfile.model_validate_json(payload)
    assert metrics_of(db_client).accepted("profile") == 1
    assert stored(db_client, "washer-1") == (None, 0)  # the other machines keep nothing


def test_an_older_profile_never_replaces_a_newer_one(db_client: TestClient, db_feed: Feed, room: FakeEdge) -> None:
    db_feed(room.profile("washer-1", learned=5, standby_a=0.02))
    (older,) = db_feed(room.profile("washer-1", learned=4, standby_a=0.5))
    assert older.kind == "stale"
    profile, learned = stored(db_client, "washer-1")
    assert (learned, profile["standby_a"] if profile else None) == (5, 0.02)
    # As many cycles learned, say a standby level learned since: the later one is kept.
    (same,) = db_feed(room.profile("washer-1", learned=5, standby_a=0.04))
    assert same.kind == "profile"
    profile, learned = stored(db_client, "washer-1")
    assert (learned, profile["standby_a"] if profile else None) == (5, 0.04)
    assert metrics_of(db_client).accepted("stale") == 1


def test_bad_profiles_are_refused_and_counted_and_the_stored_one_stays(
    db_client: TestClient, db_feed: Feed, room: FakeEdge, caplog: pytest.LogCaptureFixture
) -> None:
    db_feed(room.profile("washer-1", learned=2))
    kept = stored(db_client, "washer-1")
    good = json.loads(room.profile("washer-1", learned=9)[1])
    bad = {
        "not_json": room.raw("washer-1", "profile", b"{not json"),
        "invalid": room.raw("washer-1", "profile", {**good, "learned": -1}),
        "wrong machine": room.raw("washer-1", "profile", {**good, "machine": "washer-2"}),
        "wrong kind": room.raw("washer-1", "profile", {**good, "kind": "dryer"}),
        "unknown_machine": (room.profile("washer-9", learned=9)),
        "too many cycles": room.raw("washer-1", "profile", {**good, "cycles": [good["cycles"][0]] * 41}),
    }
    before = {reason: metrics_of(db_client).rejections(reason) for reason in ("not_json", "invalid", "unknown_machine")}
    with caplog.at_level(logging.WARNING, logger="cloud.processes.ingest"):
        results = db_feed(*bad.values())
    assert results == [None] * len(bad)
    after = {reason: metrics_of(db_client).rejections(reason) for reason in before}
    assert {reason: after[reason] - before[reason] for reason in after} == {
        "not_json": 1,
        "invalid": 4,
        "unknown_machine": 1,
    }
    refused = [r for r in caplog.records if "ingest rejected" in r.getMessage() and "/profile" in r.getMessage()]
    assert len(refused) == len(bad)
    assert stored(db_client, "washer-1") == kept
    assert metrics_of(db_client).accepted("profile") == 1


def test_a_room_comes_online_when_its_status_changes_or_its_edge_boots_again(
    db_client: TestClient, db_feed: Feed, room: FakeEdge
) -> None:
    (again,) = db_feed(room.status())  # the same boot, still online (a cloud restart reads it retained)
    (offline,) = db_feed(room.status(online=False))
    (back,) = db_feed(room.status())
    room.boot_id = "boot-2"  # a replaced Pi that came up before the old one's last will arrived
    (rebooted, its_info) = db_feed(room.status(), room.info())  # an edge sends its status, then its info
    room.boot_id = "boot-3"  # one that came up while the cloud was away: retained, info comes first
    (info_first, status_after) = db_feed(room.info(), room.status())
    outcomes = [a.came_online for a in (again, offline, back, rebooted, its_info, info_first, status_after)]
    assert outcomes == [False, False, True, True, False, True, False]


# --- restoring, over a real broker ---------------------------------------------------------


def test_an_edge_that_comes_online_gets_its_stored_profiles_back(
    app_client: TestClient, publisher: EdgePublisher, amqtt_broker: BrokerHandle, unique_site: str
) -> None:
    edge = FakeEdge(site=unique_site)
    publisher.publish(edge.info(), retain=True)
    publisher.publish(edge.status(), retain=True)
    wait_until(lambda: app_client.get("/api/v1/machines/washer/1").status_code == 200, what="the room to register")
    washer, dryer = edge.profile("washer-1", learned=7, cycles=3), edge.profile("dryer-1", learned=2)
    publisher.publish(washer, retain=True)
    publisher.publish(dryer, retain=True)
    wait_until(lambda: metrics_of(app_client).accepted("profile") >= 2, what="the profiles to be stored")

    # The Pi is replaced: its last will says offline, and the broker lost the retained profiles.
    publisher.publish(edge.status(online=False), retain=True)
    for topic, _ in (washer, dryer):
        publisher.publish((topic, b""), retain=True)
    wait_until(lambda: metrics_of(app_client).accepted("cleared") >= 2, what="the profiles to be cleared")
    assert stored(app_client, "washer-1")[1] == 7  # clearing the broker's copy forgets nothing

    profile_filter = f"kywash/v1/{unique_site}/r1/machine/+/profile"
    new_pi = MqttWatcher(amqtt_broker.host, amqtt_broker.port, profile_filter)
    try:
        edge.boot_id = "boot-2"
        publisher.publish(edge.status(), retain=True)
        heard = dict(new_pi.next()[:2] for _ in range(2))
        assert set(heard) == {washer[0], dryer[0]}
        assert MachineProfile.model_validate(heard[washer[0]]) == MachineProfile.model_validate_json(washer[1])
        assert MachineProfile.model_validate(heard[dryer[0]]).learned == 2
    finally:
        new_pi.close()

    # retained: a Pi that subscribes later gets it too
    later = MqttWatcher(amqtt_broker.host, amqtt_broker.port, profile_filter)
    try:
        topic, payload, retained = later.next("/washer-1/profile")
        assert retained and topic == machine_topic(unique_site, "r1", "washer-1", "profile")
        assert payload["learned"] == 7
    finally:
        later.close()
    publisher.retained.update(topic for topic, _ in (washer, dryer))  # cleared on close
