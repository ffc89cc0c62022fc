"""The edge agent's systemd unit says what the agent relies on: notify + watchdog, restarts,
an unprivileged user with GPIO and serial access, and a read-only system around it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "kywash-edge.service"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> values (systemd allows a key more than once)."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        sections[section][key.strip()].append(value.strip())
    return sections


def test_the_unit_is_a_watched_notify_service_that_restarts() -> None:
    service = parse_unit(UNIT.read_text())["Service"]
    assert service["Type"] == ["notify"]
    assert service["NotifyAccess"] == ["main"]  # only the agent itself may ping
    assert 10 <= int(service["WatchdogSec"][0]) <= 120
    assert service["Restart"] == ["on-failure"]
    assert service["ExecStart"][0].split()[1:3] == ["edge", "--config"]


def test_the_agent_runs_unprivileged_with_only_gpio_serial_and_its_state() -> None:
    service = parse_unit(UNIT.read_text())["Service"]
    assert service["User"] == ["kywash"]
    assert set(service["SupplementaryGroups"][0].split()) == {"gpio", "dialout"}
    assert service["ProtectSystem"] == ["strict"]
    assert service["ReadWritePaths"] == ["/var/lib/kywash"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["CapabilityBoundingSet"] == [""]
    assert service["DevicePolicy"] == ["closed"]
    assert any(device.startswith("char-gpiochip") for device in service["DeviceAllow"])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this Python for the check.
    text = UNIT.read_text().replace("/opt/kywash/venv/bin/kywash", sys.executable)
    unit = tmp_path / "kywash-edge.service"
    unit.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], check=False, capture_output=True, text=True, timeout=60
    )
    complaints = [line for line in result.stderr.splitlines() if "kywash-edge.service" in line]
    assert result.returncode == 0 and not complaints, result.stderr
