"""``kywash edge``: clear errors for bad configs, a status from disk, and clean stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.cli import edge_command
from edge.config import demo_room_config
from edge.config_toml import write_room_config
from kywash.clock import FakeClock
from tests.conftest import BrokerHandle
from tests.edge.fakes import wait_until
from tests.support.mqtt_watch import MqttWatcher

Watch = Callable[[str, int, str], MqttWatcher]


def test_invalid_config_prints_one_error_line_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "room.toml"
    config.write_text(
        'site = "north"\nroom = "r1"\n[[machines]]\nid = "washer-1"\nkind = "washer"\ndoor_pin = 99\nchannel = 1\n'
    )
    result = CliRunner().invoke(edge_command, ["--config", str(config)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {config}: machines[0].door_pin: GPIO pin 99 is not a valid BCM number (0-27)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "--config is required"), (["--config", "x.toml", "--speed", "60"], "--speed only makes sense")],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(edge_command, args)
    assert result.exit_code == 2 and message in result.output


def test_status_reads_the_outbox_of_a_room(amqtt_broker: BrokerHandle, tmp_path: Path, unique_site: str) -> None:
    config = demo_room_config(unique_site, "room-1", amqtt_broker.url, "loop://", tmp_path / "data")
    path = write_room_config(config, tmp_path / "room.toml")
    missing = CliRunner().invoke(edge_command, ["--config", str(path), "status"])
    assert missing.exit_code == 1 and "has not run" in missing.output
    factory = MockFactory()
    with EdgeAgent(config, clock=FakeClock(), pin_factory=factory) as agent:
        for machine in config.machines:
            factory.pin(machine.door_pin).drive_low()
        agent.start()
        factory.pin(19).drive_high()
        wait_until(lambda: agent.status().last_seq == 1, what="an event")
    factory.close()
    result = CliRunner().invoke(edge_command, ["status", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert f"room {unique_site}/room-1" in result.output and "last seq 1" in result.output
    assert any(line.split()[:2] == ["dryer-1", "door_open"] for line in result.output.splitlines())


def run_edge(args: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
    return subprocess.Popen(
        [sys.executable, "-m", "launchers.cli", "edge", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
    )


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    return output


@pytest.mark.parametrize("simulate", [False, True], ids=["mock-pins", "simulated-room"])
def test_agent_process_runs_until_sigterm(
    amqtt_broker: BrokerHandle, watch: Watch, tmp_path: Path, unique_site: str, simulate: bool
) -> None:
    config = demo_room_config(unique_site, "room-1", amqtt_broker.url, "loop://", tmp_path / "data")
    path = write_room_config(config, tmp_path / "room.toml")
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/#")
    args = ["--config", str(path), *(["--simulate", "--speed", "60"] if simulate else [])]
    proc = run_edge(args, tmp_path)
    try:
        live.wait_for("/status", lambda s: s["status"] == "online", timeout=20)
        wait_until(lambda: len(live.matching("/state")) >= 12, what="12 machine states")
        if simulate:  # the simulator's board feeds the agent
            live.wait_for("/telemetry", timeout=20)
    finally:
        output = stop(proc)
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    live.wait_for("/status", lambda s: s["status"] == "offline" and s["ts"] is not None)
