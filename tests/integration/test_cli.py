"""The ``kywash`` command as a user runs it: real processes, free ports, clear errors."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
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


class OutputReader:
    """A process's output read as it comes, in a thread (a full pipe would stall the process)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> str:
        """Everything printed up to the first line containing ``text``."""
        with self._changed:
            found = self._changed.wait_for(lambda: any(text in line for line in self.lines), timeout)
            assert found, f"{text!r} not printed in {timeout} s:\n{''.join(self.lines)}"
            return "".join(self.lines)

    def all(self) -> str:
        """The whole output, once the process has ended."""
        self._thread.join(timeout=10)
        return "".join(self.lines)


def staff_logs_in(base_url: str, username: str, password: str) -> bool:
    response = httpx.post(
        f"{base_url}/api/v1/auth/staff/login", json={"username": username, "password": password}, timeout=10
    )
    if response.status_code != 200:
        return False
    token = response.json()["access_token"]
    me = httpx.get(f"{base_url}/api/v1/profile/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return bool(me.json()["role"] == "staff")


def check_staff_lines(banner: str, base_url: str) -> None:
    """The banner's staff login logs in, and its "more staff" command, run as printed, adds staff."""
    login = re.search(r"staff login (\S+) / (\S+)  \(Staff tab; kept in (.+)\)", banner)
    assert login, banner
    username, password, kept_in = login.groups()
    assert username == "demo-staff" and Path(kept_in).read_text().strip() == password
    assert staff_logs_in(base_url, username, password)
    more = re.search(r"more staff  (.+)", banner)
    assert more, banner
    command = ["second-staff" if word == "NAME" else word for word in shlex.split(more[1])]
    assert "second-staff" in command, more[1]
    typed = "a second staff password\n"
    created = subprocess.run(
        [*command, "--password-stdin"], check=False, input=typed, capture_output=True, text=True, timeout=60
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert staff_logs_in(base_url, "second-staff", "a second staff password")


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
    assert proc.stdout is not None
    reader = OutputReader(proc.stdout)
    try:
        base_url = f"http://127.0.0.1:{port}"
        body = wait_for_machines(base_url, "demo", "laundry-1", timeout=60)
        assert [m["number"] for m in body["washers"]] == [1, 2, 3, 4, 5, 6]
        assert [m["number"] for m in body["dryers"]] == [1, 2, 3, 4, 5, 6]
        check_staff_lines(reader.wait_for("Ctrl-C stops everything.", timeout=30), base_url)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # a second signal (as GNU timeout sends) must not cut cleanup short
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = reader.all()
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
