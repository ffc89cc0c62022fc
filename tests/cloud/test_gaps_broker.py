"""The replay request really goes out on the broker: the app runs with ingest on against the
in-process amqtt broker; a plain paho client plays the room's edge, listening on ``replay``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.domain.ingest import gaps
from cloud.platform.settings import CloudSettings
from cloud.platform.storage import repository as repo
from cloud.processes.timers import fire_due
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from kywash.contract import EventType, MachineState, ReplayRequest, decode_message, room_topic
from tests.cloud.fake_edge import EdgePublisher, FakeEdge, wait_until
from tests.conftest import BrokerHandle
from tests.support.mqtt_watch import MqttWatcher


def replay_request(listener: MqttWatcher) -> tuple[ReplayRequest, bool]:
    """The next request on the room's replay topic (where the edge agent listens), and its retain flag."""
    message = listener.next_message()
    _, payload = decode_message(message.topic, message.payload)
    assert isinstance(payload, ReplayRequest)
    return payload, message.retain


@pytest.fixture
def publisher(amqtt_broker: BrokerHandle) -> Iterator[EdgePublisher]:
    edge_client = EdgePublisher(amqtt_broker.host, amqtt_broker.port)
    yield edge_client
    edge_client.close()


@pytest.fixture
def app_client(
    amqtt_broker: BrokerHandle, unique_site: str, tmp_path: Path, fake_clock: FakeClock
) -> Iterator[TestClient]:
    settings = CloudSettings(
        database_url=f"sqlite:///{tmp_path / 'cloud.db'}",
        mqtt_url=amqtt_broker.url,
        ingest_site=unique_site,
        photo_dir=str(tmp_path / "photos"),
        timer_loop=False,  # the test fires deadlines on its own clock
    )
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        source = client.app.state.cloud.source  # type: ignore[attr-defined]
        assert source is not None and source.wait_subscribed(10), "ingest never finished subscribing"
        yield client


def open_gaps(state: Any, edge: FakeEdge) -> list[tuple[int, int]] | None:
    with state.engine.connect() as conn:
        room = repo.find_room(conn, edge.site, edge.room)
        sequence = gaps.get_sequence(conn, room.id) if room else None
        return None if sequence is None else gaps.open_gaps(conn, sequence)


def test_a_gap_sends_a_replay_request_to_the_rooms_edge(
    app_client: TestClient,
    publisher: EdgePublisher,
    amqtt_broker: BrokerHandle,
    unique_site: str,
    fake_clock: FakeClock,
) -> None:
    state: Any = app_client.app.state.cloud  # type: ignore[attr-defined]
    edge = FakeEdge(site=unique_site)
    publisher.publish(edge.info(), retain=True)
    wait_until(lambda: app_client.get("/api/v1/machines/washer/1").status_code == 200, what="the room to register")
    listener = MqttWatcher(amqtt_broker.host, amqtt_broker.port, room_topic(edge.site, edge.room, "replay"))
    try:
        for seq in (1, 2, 5):
            publisher.publish(edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, seq=seq))
        wait_until(lambda: open_gaps(state, edge) == [(3, 4)], what="the gap to be noticed")
        assert fire_due(state.transactions, state.ingest.metrics).replay_requests == 0
        fake_clock.advance(state.settings.replay_after_s)
        assert fire_due(state.transactions, state.ingest.metrics).replay_requests == 1
        request, retained = replay_request(listener)
        assert (request.from_seq, request.to_seq, request.reason, retained) == (3, 4, "gap", False)

        for seq in (3, 4):  # the edge answers with the missing events
            publisher.publish(edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, seq=seq))
        wait_until(lambda: open_gaps(state, edge) == [], what="the replay to close the gap")
        fake_clock.advance(state.settings.replay_retry_s)
        assert fire_due(state.transactions, state.ingest.metrics).replay_requests == 0
        assert listener.drain() == []
    finally:
        listener.close()
