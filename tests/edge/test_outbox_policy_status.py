"""``kywash edge status`` shows the delivery picture: link, outbox, archive, drops, replays, sensors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.cli import edge_command
from edge.config import demo_room_config
from edge.config_toml import write_room_config
from kywash.clock import SystemClock
from kywash.contract import ReplayRequest, room_topic
from tests.conftest import BrokerHandle
from tests.edge.fakes import wait_until
from tests.support.mqtt_watch import MqttWatcher


def test_status_prints_link_outbox_archive_counters_and_sensors(
    amqtt_broker: BrokerHandle, mock_factory: MockFactory, unique_site: str, tmp_path: Path
) -> None:
    config = demo_room_config(unique_site, "room-1", amqtt_broker.url, "loop://", tmp_path / "data")
    path = write_room_config(config, tmp_path / "room.toml")
    with EdgeAgent(config, clock=SystemClock(), pin_factory=mock_factory) as agent:
        for machine in config.machines:
            mock_factory.pin(machine.door_pin).drive_low()
        agent.start()
        mock_factory.pin(19).drive_high()
        wait_until(lambda: agent.outbox.last_acked() == 1, what="an acknowledged event")
        with MqttWatcher(amqtt_broker.host, amqtt_broker.port, client_id=f"kywash-test-{unique_site}") as cloud:
            replay = ReplayRequest(from_seq=1, ts=datetime.now(UTC)).to_bytes()
            cloud.publish(room_topic(unique_site, "room-1", "replay"), replay)
            cloud.publish(room_topic(unique_site, "room-1", "replay"), b"{}")
            wait_until(lambda: agent.status().publisher.replay.malformed == 1, what="both requests handled")
            wait_until(lambda: agent.status().publisher.acked == 2, what="the replayed event acknowledged")
    result = CliRunner().invoke(edge_command, ["status", "--config", str(path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "agent: stopped (a clean shutdown wrote this status)" in out and "STALE" not in out
    assert "broker: connected, 1 connects, 0 failed attempts, 0 in flight, 2 acknowledged this boot" in out
    assert "outbox: 0 undelivered, last seq 1, last sent 1, last acknowledged 1" in out
    assert "archive: 1 acknowledged events kept for replay (up to 100000 seqs)" in out
    assert "telemetry: 0 sent, 0 dropped, 0 buffered" in out
    assert "replay: 1 requests, 1 events requeued, 0 missing, 1 malformed" in out
    assert "sensors: board " in out and "0 sensor faults" in out
    assert any(line.split()[:2] == ["dryer-1", "door_open"] for line in out.splitlines())
