"""The whole agent with a fake link injected: mock door pins in, messages out, no broker.

What the broker tests (``test_agent.py``) show end to end, here in milliseconds and with
the network's timing in the test's hands.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.config import RoomConfig, demo_room_config
from kywash.clock import FakeClock
from kywash.contract import MachineDesired, machine_topic
from tests.edge.fake_link import FakeLink
from tests.edge.fakes import wait_until

LED_WASHER_1 = 26


def room(tmp_path: Path) -> RoomConfig:
    config = demo_room_config("site-a", "room-1", "mqtt://127.0.0.1:1", "loop://", tmp_path)
    machines = list(config.machines)
    machines[0] = machines[0].model_copy(update={"indicator_pin": LED_WASHER_1})
    return config.model_copy(update={"machines": tuple(machines)})


@contextmanager
def running(config: RoomConfig, factory: MockFactory, link: FakeLink) -> Iterator[EdgeAgent]:
    agent = EdgeAgent(config, clock=FakeClock(), pin_factory=factory, link=link)
    try:
        for machine in config.machines:
            factory.pin(machine.door_pin).drive_low()
        agent.start()
        yield agent
    finally:
        link.auto_ack = True
        agent.close()


def test_door_events_reach_the_link_in_order_and_leave_the_outbox_on_ack(
    mock_factory: MockFactory, tmp_path: Path
) -> None:
    link = FakeLink()
    with running(room(tmp_path), mock_factory, link) as agent:
        assert agent.link is link
        mock_factory.pin(5).drive_high()  # washer-1's door opens
        mock_factory.pin(19).drive_high()  # dryer-1's
        wait_until(lambda: agent.status().outbox_depth == 2, what="two events on disk")
        assert link.sent == []  # not connected: nothing sent, nothing lost
        link.connect()
        events = wait_until(lambda: len(link.on("/event")) == 2 and link.on("/event"), what="both events")
        assert [json.loads(m.payload)["seq"] for m in events] == [1, 2]
        assert [m.topic.rsplit("/", 2)[-2] for m in events] == ["washer-1", "dryer-1"]
        assert agent.status().outbox_depth == 2  # until the PUBACKs
        state = json.loads(link.on("/washer-1/state")[-1].payload)
        assert state["state"] == "door_open"
        link.ack()
        wait_until(lambda: agent.status().outbox_depth == 0, what="the outbox drained")
        status = agent.status()
        assert status.broker_connected and status.publisher.acked == 2 and status.healthy
        assert status.health == "sensors ok, broker connected"


def test_a_desired_state_from_the_link_lights_the_machines_indicator(mock_factory: MockFactory, tmp_path: Path) -> None:
    config = room(tmp_path)
    link = FakeLink(auto_ack=True)
    with running(config, mock_factory, link) as agent:
        link.connect()
        wait_until(lambda: len(link.on("/state")) == 12, what="the room announced")
        payload = MachineDesired(
            machine="washer-1", out_of_service=True, revision=1, ts=datetime(2026, 11, 26, tzinfo=UTC),
            claim_category="extra_5", claim_extra_minutes=5,
        )  # fmt: skip
        link.deliver(machine_topic(config.site, config.room, "washer-1", "desired"), payload.to_bytes())
        wait_until(lambda: mock_factory.pin(LED_WASHER_1).state is True, what="the LED lit")
        wait_until(lambda: link.on("/washer-1/ack"), what="the ack")
        assert agent.publisher.service.applied()["washer-1"].claim_extra_minutes == 5


def test_a_bad_message_from_the_link_leaves_the_agent_healthy(mock_factory: MockFactory, tmp_path: Path) -> None:
    config = room(tmp_path)
    link = FakeLink(auto_ack=True)
    with running(config, mock_factory, link) as agent:
        link.connect()
        link.deliver(machine_topic(config.site, config.room, "washer-1", "desired"), b"\x00garbage")
        link.deliver(machine_topic(config.site, config.room, "washer-1", "profile"), b"[]")
        wait_until(lambda: agent.status().stats.bad_profiles == 1, what="the bad profile counted")
        assert agent.publisher.service.stats().malformed == 1
        assert agent.health() == (True, "sensors ok, broker connected")
        link.dead = True  # the link's thread died: it would never reconnect
        assert agent.health() == (False, "MQTT network thread is dead")
