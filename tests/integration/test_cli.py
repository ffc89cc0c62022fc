"""The ``kywash`` command as a user runs it: real processes, free ports, clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from launchers.broker import free_port
from tests.support.live import wait_for_machines

KYWASH = [sys.executable, "-m", "launchers.cli"]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KYWASH, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_demo_runs_the_whole_system_and_stops_cleanly_on_signals(tmp_path: Path, taken_port: int) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            *KYWASH,
            "demo",
            "--port",
            str(port),
            "--mqtt-port",
            str(taken_port),
            "--speed",
            "60",
            "--data-dir",
            str(tmp_path / "demo"),
            "--seed",
            "7",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = wait_for_machines(f"http://127.0.0.1:{port}", "demo", "laundry-1", timeout=60)
        assert [m["number"] for m in body["washers"]] == [1, 2, 3, 4, 5, 6]
        assert [m["number"] for m in body["dryers"]] == [1, 2, 3, 4, 5, 6]
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # a second signal (as GNU timeout sends) must not cut cleanup short
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert f"MQTT port {taken_port} is taken" in output
    assert f"http://127.0.0.1:{port}/" in output
    assert "KY Wash demo stopped." in output
    assert "Traceback" not in output
    assert "Aborted" not in output
    assert (tmp_path / "demo" / "vapid_private.pem").is_file(), "the demo keeps its web push key with its data"


def test_edge_refuses_an_invalid_room_config_by_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "room.toml"
    config.write_text(
        'site = "north"\nroom = "room-1"\n[broker]\nurl = "mqtt://127.0.0.1:1"\n[board]\nurl = "loop://"\n'
        '[[machines]]\nid = "washer-1"\nkind = "washer"\ndoor_pin = 99\nchannel = 1\n'
    )
    result = run("edge", "--config", str(config))
    assert result.returncode == 2
    assert "door_pin" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_edge_refuses_a_config_that_is_not_toml(tmp_path: Path) -> None:
    config = tmp_path / "room.toml"
    config.write_text("site = [unclosed\n")
    result = run("edge", "--config", str(config))
    assert result.returncode == 2
    assert "room.toml" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_cloud_refuses_production_with_the_default_secret() -> None:
    result = run("cloud", "--port", str(free_port()), env={"KYWASH_ENVIRONMENT": "production"})
    assert result.returncode == 2
    assert "secret" in (result.stderr + result.stdout).lower()
    assert "Traceback" not in result.stderr + result.stdout


def test_cloud_names_a_bad_setting() -> None:
    result = run("cloud", "--port", str(free_port()), env={"KYWASH_INGEST_ENABLED": "perhaps"})
    assert result.returncode == 2
    assert "ingest_enabled" in (result.stderr + result.stdout).lower()
