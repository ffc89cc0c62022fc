"""The publisher alone: outbox rows reach the broker in order, once, through a dropped connection."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.config import RoomConfig, demo_room_config
from edge.errors import ConfigError
from edge.outbox import EventDraft, MachineStateRow, Outbox
from edge.publisher import Publisher
from kywash.clock import FakeClock
from kywash.contract import machine_topic
from tests.conftest import BrokerHandle
from tests.edge.fakes import wait_until
from tests.support.mqtt_watch import MqttWatcher

Watch = Callable[[str, int, str], MqttWatcher]


def fill(outbox: Outbox, config: RoomConfig, count: int) -> None:
    topic = machine_topic(config.site, config.room, "washer-1", "event")
    drafts = [EventDraft("washer-1", topic, lambda seq: json.dumps({"seq": seq}).encode()) for _ in range(count)]
    state = MachineStateRow("washer-1", "idle", 0.0, "closed", 0.0, "idle", 0.0)
    outbox.append_events(drafts, [state])


def seqs(watcher: MqttWatcher) -> list[int]:
    return [m.json()["seq"] for m in watcher.matching("/event")]


def test_rows_drain_in_order_once_each_and_survive_a_dropped_connection(
    any_broker: BrokerHandle, watch: Watch, unique_site: str, tmp_path: Path
) -> None:
    config = demo_room_config(unique_site, "room-1", any_broker.url, "loop://", tmp_path)
    live = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/+/machine/+/event")
    with Outbox(tmp_path / "outbox.db") as outbox:
        fill(outbox, config, 150)  # more than the in-flight window of 20
        publisher = Publisher(config, outbox, clock=FakeClock(), boot_id="b1", started_at=0.0).start()
        try:
            wait_until(lambda: outbox.depth() == 0, what="the outbox to drain")
            wait_until(lambda: len(seqs(live)) >= 150, what="150 events")
            assert seqs(live) == list(range(1, 151))  # in order, none twice while connected
            assert publisher.status().acked == 150 and publisher.status().in_flight == 0

            sock = publisher.client.socket()
            assert isinstance(sock, socket.socket)
            sock.shutdown(socket.SHUT_RDWR)  # the network drops; paho reconnects by itself
            fill(outbox, config, 60)
            wait_until(lambda: publisher.status().connects >= 2, what="a reconnect")
            wait_until(lambda: outbox.depth() == 0, what="the outbox to drain again")
            wait_until(lambda: set(seqs(live)) >= set(range(1, 211)), what="all 210 events")
            got = seqs(live)
            firsts = list(dict.fromkeys(got))
            assert firsts == list(range(1, 211))  # order of first delivery is the outbox order
            assert len(got) - len(firsts) <= 20  # redeliveries only of what was in flight at the drop
        finally:
            publisher.close()


def test_tls_with_an_unusable_ca_file_is_a_config_error(tmp_path: Path, unique_site: str) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("not a certificate")
    config = demo_room_config(unique_site, "room-1", "mqtts://127.0.0.1:8883", "loop://", tmp_path)
    config = config.model_copy(update={"broker": config.broker.model_copy(update={"ca_file": ca})})
    with Outbox(tmp_path / "outbox.db") as outbox, pytest.raises(ConfigError, match=r"broker\.ca_file"):
        Publisher(config, outbox, clock=FakeClock(), boot_id="b1", started_at=0.0)
