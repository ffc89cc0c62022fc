"""The publisher over a fake link: announcements on every connect, incoming messages, no broker.

The publisher's own thread runs; the test plays the network (connect, drop, PUBACKs,
messages from the cloud) through ``tests.edge.fake_link.FakeLink``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.config import RoomConfig, demo_room_config
from edge.desired import ServiceDesk
from edge.outbox import EventDraft, MachineStateRow, Outbox
from edge.publisher import Publisher
from kywash.clock import FakeClock
from kywash.contract import MachineDesired, ReplayRequest, machine_topic, room_topic
from tests.edge.fake_link import FakeLink, Sent
from tests.edge.fakes import wait_until

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> RoomConfig:
    return demo_room_config("site-a", "room-1", "mqtt://127.0.0.1:1", "loop://", tmp_path)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.db") as box:
        yield box


@pytest.fixture
def link() -> FakeLink:
    return FakeLink()


@pytest.fixture
def publisher(config: RoomConfig, outbox: Outbox, link: FakeLink) -> Iterator[Publisher]:
    pub = Publisher(config, outbox, clock=FakeClock(), boot_id="b1", started_at=0.0, link=link).start()
    yield pub
    link.auto_ack = True  # the offline status on close is acknowledged at once
    pub.close()


def fill(outbox: Outbox, config: RoomConfig, count: int) -> None:
    topic = machine_topic(config.site, config.room, "washer-1", "event")
    drafts = [EventDraft("washer-1", topic, lambda seq: json.dumps({"seq": seq}).encode()) for _ in range(count)]
    outbox.append_events(drafts, [MachineStateRow("washer-1", "idle", 0.0, "closed", 0.0, "idle", 0.0)])


def event_seqs(messages: list[Sent]) -> list[int]:
    return [json.loads(m.payload)["seq"] for m in messages]


def desired(config: RoomConfig, machine: str, revision: int, out_of_service: bool) -> tuple[str, bytes]:
    payload = MachineDesired(machine=machine, out_of_service=out_of_service, revision=revision, ts=NOW)
    return machine_topic(config.site, config.room, machine, "desired"), payload.to_bytes()


def test_each_connect_announces_the_room_then_sends_the_rows(
    publisher: Publisher, link: FakeLink, outbox: Outbox, config: RoomConfig
) -> None:
    fill(outbox, config, 5)
    publisher.notify(["washer-1"])
    link.connect()
    wait_until(lambda: len(link.on("/event")) == 5, what="five events on the link")
    topics = [m.topic.rsplit("/", 1)[-1] for m in link.sent]
    assert topics[:3] == ["info", "status", "state"]  # info first: a cloud learns the room from it
    assert all(m.retain for m in link.sent[:3]) and json.loads(link.on("/status")[0].payload)["status"] == "online"
    assert link.subscriptions == [
        (room_topic("site-a", "room-1", "replay"), 1),
        ("kywash/v1/site-a/room-1/machine/+/desired", 1),
        ("kywash/v1/site-a/room-1/machine/+/profile", 1),
    ]
    assert outbox.depth() == 5  # withheld PUBACKs: nothing archived yet

    link.disconnect()
    fill(outbox, config, 2)
    publisher.notify(["washer-1"])
    mark = len(link.sent)
    link.connect()
    wait_until(lambda: len(link.on("/event", since=mark)) == 7, what="the held rows again, then the new ones")
    again = link.on("/event", since=mark)
    assert event_seqs([m for m in again if m.resent]) == [1, 2, 3, 4, 5]  # the link's own resend
    assert event_seqs([m for m in again if not m.resent]) == [6, 7]  # the drain hands over only new rows

    def said(leaf: str) -> list[Sent]:  # by the publisher, not the link's resend of a held one
        return [m for m in link.on(leaf, since=mark) if not m.resent]

    wait_until(lambda: said("/info") and said("/status") and said("/state"), what="the room said again")
    assert len(link.subscriptions) == 6  # subscribed again: the session may be new

    link.ack()
    wait_until(lambda: outbox.depth() == 0, what="every row archived")
    status = publisher.status()
    assert (status.connects, status.acked, status.in_flight, status.last_acked_seq) == (2, 7, 0, 7)


def test_an_incoming_desired_state_is_applied_shown_and_acknowledged(
    publisher: Publisher, link: FakeLink, outbox: Outbox, config: RoomConfig
) -> None:
    fill(outbox, config, 1)
    shown: list[tuple[str, bool]] = []
    publisher.on_service = lambda machine, out: shown.append((machine, out))
    link.connect()
    wait_until(lambda: link.on("/washer-1/state"), what="the first state")
    mark = len(link.sent)
    link.deliver(*desired(config, "washer-1", 3, True))
    ack = wait_until(lambda: link.on("/washer-1/ack", since=mark), what="the ack")[0]
    assert ack.retain and (json.loads(ack.payload)["revision"], json.loads(ack.payload)["out_of_service"]) == (3, True)
    state = link.on("/washer-1/state", since=mark)[-1]
    assert json.loads(state.payload)["out_of_service"] is True
    assert link.sent.index(state) < link.sent.index(ack)  # the state shows it before the ack says so
    assert shown == [("washer-1", True)]
    assert publisher.service.applied()["washer-1"].revision == 3

    link.deliver(*desired(config, "washer-1", 3, True))  # the same retained message after a reconnect
    wait_until(lambda: publisher.service.stats().already_applied == 1, what="the repeat seen")
    assert len(link.on("/washer-1/ack")) == 1


def test_a_desired_state_that_arrives_while_down_is_shown_now_and_acknowledged_on_connect(
    publisher: Publisher, link: FakeLink, config: RoomConfig
) -> None:
    shown: list[tuple[str, bool]] = []
    publisher.on_service = lambda machine, out: shown.append((machine, out))
    link.deliver(*desired(config, "dryer-2", 1, True))
    wait_until(lambda: shown == [("dryer-2", True)], what="the LED lit without a broker")
    assert link.sent == []
    link.connect()
    wait_until(lambda: link.on("/dryer-2/ack"), what="the ack once connected")


def test_bad_incoming_payloads_are_refused_and_counted_not_a_crash(
    publisher: Publisher, link: FakeLink, config: RoomConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    link.connect()
    desired_topic, _ = desired(config, "washer-1", 1, True)
    link.deliver(desired_topic, b"{not json")
    _, washer_1 = desired(config, "washer-1", 1, True)
    link.deliver(machine_topic(config.site, config.room, "washer-99", "desired"), washer_1)  # not our machine
    link.deliver(machine_topic(config.site, config.room, "washer-1", "profile"), b'{"machine": "washer-1"}')
    link.deliver(room_topic(config.site, config.room, "replay"), b"\xff\xfe")
    wrong = ReplayRequest(from_seq=5, to_seq=2, ts=NOW).to_bytes()
    link.deliver(room_topic(config.site, config.room, "replay"), wrong)

    def explode(self: ServiceDesk, topic: str, payload: bytes) -> bool:
        raise RuntimeError("a bug in a desk")

    monkeypatch.setattr(ServiceDesk, "submit", explode)
    link.deliver(desired_topic, b"{}")  # must not reach the link's thread as an exception

    assert publisher.service.stats().malformed == 2
    assert publisher.profiles.bad == 1
    status = publisher.status()
    assert status.replay.malformed == 2 and status.inbound_failed == 1
    assert publisher.service.applied() == {}
    assert publisher.healthy() == (True, "connected")


def test_telemetry_waits_while_down_and_goes_after_the_announcements(
    publisher: Publisher, link: FakeLink, config: RoomConfig
) -> None:
    topic = machine_topic(config.site, config.room, "washer-1", "telemetry")
    assert not publisher.publish_telemetry(topic, b'{"n": 1}')
    link.connect()
    wait_until(lambda: link.on("/telemetry"), what="the buffered sample")
    names = [m.topic.rsplit("/", 1)[-1] for m in link.sent]
    assert names.index("telemetry") > names.index("status")
    assert publisher.publish_telemetry(topic, b'{"n": 2}')  # connected, nothing waiting: at once
    assert link.on("/telemetry")[-1].qos == 0 and publisher.status().telemetry_sent == 2


def test_close_says_offline_itself_and_a_dead_link_is_unhealthy(
    config: RoomConfig, outbox: Outbox, link: FakeLink
) -> None:
    publisher = Publisher(config, outbox, clock=FakeClock(), boot_id="b1", started_at=0.0, link=link).start()
    link.connect()
    wait_until(lambda: link.on("/status"), what="online")
    link.dead = True
    assert publisher.healthy() == (False, "MQTT network thread is dead")
    link.dead = False
    link.auto_ack = True
    publisher.close()
    last = link.sent[-1]
    assert last.topic.endswith("/status") and last.retain and json.loads(last.payload)["status"] == "offline"
    assert link.closed
