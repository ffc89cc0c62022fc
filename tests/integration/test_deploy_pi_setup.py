"""deploy/pi/setup.sh: valid bash (and clean under shellcheck, where installed), and under
``--dry-run`` the commands it would run, in order, without touching the machine."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "pi" / "setup.sh"
EDGE_UNIT = ROOT / "deploy" / "systemd" / "kywash-edge.service"


def setup_sh(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *map(str, args)], check=False, capture_output=True, text=True, timeout=30
    )


def planned(*args: str | Path) -> list[list[str]]:
    """The commands ``--dry-run`` prints, each split as the shell would."""
    result = setup_sh("--dry-run", *args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("+ ") for line in lines), result.stdout
    return [shlex.split(line[2:]) for line in lines]


@pytest.fixture
def room_files(tmp_path: Path) -> Path:
    """What ``kywash provision room`` leaves in its output folder: room.toml and ca.crt."""
    (tmp_path / "room.toml").write_text('site = "north"\nroom = "laundry-1"\n')
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    return tmp_path


def test_the_script_is_valid_bash_and_strict() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)
    assert "set -euo pipefail" in SCRIPT.read_text()


@pytest.mark.skipif(  # in CI (KYWASH_REQUIRE_SERVICES=1, .ci/run installs it) it must run
    shutil.which("shellcheck") is None and not REQUIRE_SERVICES, reason="shellcheck is not installed"
)
def test_shellcheck_finds_nothing() -> None:
    result = subprocess.run(["shellcheck", str(SCRIPT)], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_a_dry_run_plans_user_venv_config_and_unit_in_that_order(room_files: Path) -> None:
    wheel = room_files / "kywash-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    commands = planned("--source", wheel, "--config", room_files / "room.toml")
    programs = [command[0] for command in commands]

    user = next(c for c in commands if c[0] in ("useradd", "usermod"))
    assert user[-1] == "kywash" and "gpio,dialout" in user
    assert "/opt/kywash/venv/bin/pip" in programs
    assert [c for c in commands if c[:3] == ["/opt/kywash/venv/bin/pip", "install", "--upgrade"]][-1][-1] == (
        f"{wheel}[pi]"
    )
    installs = {c[-1]: c for c in commands if c[0] == "install" and "-d" not in c}
    assert installs["/etc/kywash/room.toml"][1:7] == ["-m", "0600", "-o", "kywash", "-g", "kywash"]
    assert installs["/etc/kywash/ca.crt"][-2] == str(room_files / "ca.crt")  # found beside the config
    assert Path(installs["/etc/systemd/system/kywash-edge.service"][-2]).resolve() == EDGE_UNIT
    assert ["install", "-d", "-m", "0750", "-o", "kywash", "-g", "kywash", "/var/lib/kywash"] in commands
    check = next(c for c in commands if c[0] == "runuser")
    assert check[:3] == ["runuser", "-u", "kywash"] and "load_room_config" in check[-2]
    assert commands[-3:] == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "kywash-edge.service"],
        ["systemctl", "restart", "kywash-edge.service"],
    ]
    order = [programs.index(p) for p in ("/opt/kywash/venv/bin/pip", "install", "runuser", "systemctl")]
    assert programs.index(user[0]) < order[0] and order == sorted(order)


def test_a_git_url_is_installed_as_a_direct_reference_and_no_start_leaves_it_stopped(room_files: Path) -> None:
    url = "git+https://example.org/kywash.git@v0.1.0"
    commands = planned("--source", url, "--config", room_files / "room.toml", "--no-start")
    assert ["/opt/kywash/venv/bin/pip", "install", "--upgrade", f"kywash[pi] @ {url}"] in commands
    assert ["systemctl", "restart", "kywash-edge.service"] not in commands
    assert ["systemctl", "enable", "kywash-edge.service"] in commands


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--config", "{dir}/room.toml"], "--source is required"),
        (["--source", "{dir}"], "--config is required"),
        (["--source", "{dir}", "--config", "{dir}/missing.toml"], "no such config file"),
        (["--source", "{dir}/missing.whl", "--config", "{dir}/room.toml"], "no such wheel or directory"),
        (["--source", "{dir}", "--config", "{dir}/room.toml", "--ca", "{dir}/nope.crt"], "no such CA"),
        (["--source", "{dir}", "--config", "{dir}/room.toml", "--frobnicate"], "unknown argument"),
    ],
)
def test_bad_arguments_stop_before_anything_runs(room_files: Path, args: list[str], complaint: str) -> None:
    result = setup_sh("--dry-run", *(arg.format(dir=room_files) for arg in args))
    assert result.returncode == 2
    assert complaint in result.stderr
    assert "+ " not in result.stdout


def test_help_describes_the_options() -> None:
    result = setup_sh("--help")
    assert result.returncode == 0
    for option in ("--source", "--config", "--ca", "--dry-run"):
        assert option in result.stdout
