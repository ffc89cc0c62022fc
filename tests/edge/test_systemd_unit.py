"""The edge agent's systemd unit says what the agent relies on: notify + watchdog, restarts,
an unprivileged user with GPIO and serial access, and a read-only system around it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.systemd_units import HAVE_SYSTEMD_ANALYZE, parse_unit, verify

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "kywash-edge.service"


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


@pytest.mark.skipif(not HAVE_SYSTEMD_ANALYZE, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this Python for the check.
    unit = tmp_path / "kywash-edge.service"
    unit.write_text(UNIT.read_text().replace("/opt/kywash/venv/bin/kywash", sys.executable))
    assert verify(unit) == []
