"""The cloud's and the broker's systemd files (deploy/systemd/): what they promise an operator,
and that systemd itself accepts them (``systemd-analyze verify``, where installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.systemd_units import HAVE_SYSTEMD_ANALYZE, parse_unit, verify

SYSTEMD = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
CLOUD_UNIT = SYSTEMD / "kywash-cloud.service"
BROKER_DROP_IN = SYSTEMD / "mosquitto.service.d" / "kywash.conf"
KYWASH = "/opt/kywash/venv/bin/kywash"
# Debian's packaged unit (mosquitto 2.0.11), which the drop-in amends.
PACKAGED_MOSQUITTO = """\
[Unit]
Description=Mosquitto MQTT Broker
After=network.target
Wants=network.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
ExecStartPre=/bin/mkdir -m 740 -p /var/log/mosquitto
ExecStartPre=/bin/chown mosquitto /var/log/mosquitto
ExecStartPre=/bin/mkdir -m 740 -p /run/mosquitto
ExecStartPre=/bin/chown mosquitto /run/mosquitto

[Install]
WantedBy=multi-user.target
"""
needs_systemd_analyze = pytest.mark.skipif(not HAVE_SYSTEMD_ANALYZE, reason="systemd-analyze is not installed")


def cloud_service() -> dict[str, list[str]]:
    return parse_unit(CLOUD_UNIT.read_text())["Service"]


def test_the_cloud_migrates_first_then_serves_workers_on_loopback_with_its_environment_file() -> None:
    service = cloud_service()
    assert service["EnvironmentFile"] == ["/etc/kywash/cloud.env"]
    assert service["ExecStartPre"] == [f"{KYWASH} cloud migrate"]
    (start,) = service["ExecStart"]
    args = start.split()
    assert args[:2] == [KYWASH, "cloud"]
    assert args[args.index("--host") + 1] == "127.0.0.1"  # nginx is the only way in
    assert int(args[args.index("--workers") + 1]) >= 2
    assert service["Restart"] == ["on-failure"]
    assert service["RuntimeDirectory"] == ["kywash-cloud"]  # where the workers' metrics meet


def test_the_cloud_options_in_the_unit_are_options_the_cli_has() -> None:
    from click.testing import CliRunner

    from cloud.runtime.cli import cloud_command

    help_text = CliRunner().invoke(cloud_command, ["--help"]).output
    (start,) = cloud_service()["ExecStart"]
    for option in (word for word in start.split() if word.startswith("--")):
        assert option in help_text, option


def test_the_cloud_runs_unprivileged_on_a_read_only_system_but_for_its_state() -> None:
    service = cloud_service()
    assert service["User"] == ["kywash"]
    assert "SupplementaryGroups" not in service  # no GPIO or serial on a server
    assert service["ProtectSystem"] == ["strict"]
    assert service["StateDirectory"] == ["kywash-cloud"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["PrivateDevices"] == ["yes"]
    assert service["CapabilityBoundingSet"] == [""]


def test_the_broker_drop_in_runs_the_shipped_config_and_reloads_on_sighup() -> None:
    service = parse_unit(BROKER_DROP_IN.read_text())["Service"]
    assert service["ExecStart"] == ["", "/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf"]
    assert service["ExecReload"] == ["", "/bin/kill -HUP $MAINPID"]
    assert int(service["LimitNOFILE"][0]) >= 4096
    assert service["NoNewPrivileges"] == ["yes"]
    # Dropping to the mosquitto user needs setuid/setgid; nothing else privileged.
    assert set(service["CapabilityBoundingSet"][0].split()) <= {"CAP_SETUID", "CAP_SETGID", "CAP_CHOWN"}


def test_the_broker_paths_are_the_ones_mosquitto_conf_and_provisioning_use() -> None:
    conf = (SYSTEMD.parents[1] / "mosquitto.conf").read_text()
    assert "password_file /etc/mosquitto/kywash.passwd" in conf
    assert "acl_file /etc/mosquitto/kywash.acl" in conf
    text = BROKER_DROP_IN.read_text()
    assert "/etc/mosquitto/kywash.passwd" in text and "/etc/mosquitto/kywash.acl" in text


@needs_systemd_analyze
def test_systemd_accepts_the_cloud_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this Python for the check.
    unit = tmp_path / CLOUD_UNIT.name
    unit.write_text(CLOUD_UNIT.read_text().replace(KYWASH, sys.executable))
    assert verify(unit) == []


@needs_systemd_analyze
def test_systemd_accepts_the_broker_drop_in_on_the_packaged_unit(tmp_path: Path) -> None:
    unit = tmp_path / "mosquitto.service"
    unit.write_text(PACKAGED_MOSQUITTO.replace("/usr/sbin/mosquitto", sys.executable))
    drop_in = tmp_path / "mosquitto.service.d" / "kywash.conf"
    drop_in.parent.mkdir()
    drop_in.write_text(BROKER_DROP_IN.read_text().replace("/usr/sbin/mosquitto", sys.executable))
    assert verify(unit) == []


@needs_systemd_analyze
def test_verify_reads_the_drop_in_so_a_mistake_there_is_caught(tmp_path: Path) -> None:
    unit = tmp_path / "mosquitto.service"
    unit.write_text(PACKAGED_MOSQUITTO.replace("/usr/sbin/mosquitto", sys.executable))
    drop_in = tmp_path / "mosquitto.service.d" / "kywash.conf"
    drop_in.parent.mkdir()
    drop_in.write_text("[Service]\nRestartSecs=2\n")
    assert verify(unit) != []
