"""The demo makes a staff login it can print, once per data directory, and prints a command for
more staff that runs as printed (``kywash`` is not on PATH after ``python3 run.py demo``)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from launchers.demo_staff import DEMO_STAFF, LOGIN_FILE, ensure_demo_staff, kywash_command

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _logs_in(url: str, username: str, password: str) -> bool:
    settings = CloudSettings(database_url=url, ingest_enabled=False)
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        response = client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})
        return response.status_code == 200


def test_the_printed_login_logs_in_and_stays_the_same(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    username, password = ensure_demo_staff(url, tmp_path, NOW)
    assert username == DEMO_STAFF and len(password) >= 12
    assert ensure_demo_staff(url, tmp_path, NOW) == (username, password)  # the next start prints the same
    assert stat.S_IMODE((tmp_path / LOGIN_FILE).stat().st_mode) == 0o600
    assert _logs_in(url, username, password)


def test_a_lost_login_file_gets_the_account_a_new_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    _, old = ensure_demo_staff(url, tmp_path, NOW)
    (tmp_path / LOGIN_FILE).unlink()
    _, new = ensure_demo_staff(url, tmp_path, NOW)
    assert new != old and (tmp_path / LOGIN_FILE).read_text().strip() == new
    assert _logs_in(url, DEMO_STAFF, new) and not _logs_in(url, DEMO_STAFF, old)


def _venv(root: Path) -> Path:
    """A venv's ``bin`` with its ``python`` and the ``kywash`` script pip installs next to it."""
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "kywash"):
        (bin_dir / name).touch()
    return bin_dir / "python"


def test_the_more_staff_command_names_the_venvs_kywash_from_the_repo(tmp_path: Path) -> None:
    python = _venv(tmp_path)
    assert kywash_command(python, tmp_path, on_path="") == ".venv/bin/kywash"  # run.py starts the demo in the repo
    assert kywash_command(python, tmp_path / ".venv" / "bin", on_path="") == "./kywash"
    elsewhere = tmp_path / "elsewhere"
    assert kywash_command(python, elsewhere, on_path="") == str(tmp_path / ".venv" / "bin" / "kywash")
    assert kywash_command(python, elsewhere, on_path=str(python.parent / "kywash")) == "kywash"  # venv activated
    assert kywash_command(python, elsewhere, on_path="/usr/bin/kywash") == str(python.parent / "kywash")


def test_without_the_script_the_command_runs_the_module(tmp_path: Path) -> None:
    python = tmp_path / "bin" / "python3"
    assert kywash_command(python, tmp_path, on_path="") == f"{python} -m launchers.cli"
