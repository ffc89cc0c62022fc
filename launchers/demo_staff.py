"""The demo's staff login: made once per data directory, printed at every start.

A newcomer wants to try the staff side at once. ``kywash cloud create-staff`` writes the
database its settings name, which is not the demo's unless it is told (the demo prints
that exact command too), so the demo makes one staff account itself and keeps its
password in the data directory, readable only by its owner.

The printed command must work as printed: after ``python3 run.py demo`` there is no
``kywash`` on PATH (it is ``.venv/bin/kywash``), so it names the script of the Python
running the demo, by its path relative to the working directory when it is inside it.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, select, update

from cloud.domain.accounts.access import create_staff
from cloud.domain.accounts.passwords import hash_secret, verify_secret
from cloud.domain.accounts.users import find_by_login
from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.migrate import upgrade_database
from cloud.platform.storage.tables import users

DEMO_STAFF: Final = "demo-staff"
LOGIN_FILE: Final = "staff-login.txt"


def ensure_demo_staff(database_url: str, data_dir: Path, now: datetime) -> tuple[str, str]:
    """The demo staff account's username and password, creating or re-keying it if needed."""
    login_file = data_dir / LOGIN_FILE
    kept = login_file.read_text().strip() if login_file.exists() else ""
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            user = find_by_login(conn, username=DEMO_STAFF)
            if user is not None and kept and verify_secret(_stored_hash(conn, user.id), kept):
                return DEMO_STAFF, kept
            password = secrets.token_urlsafe(12)
            if user is None:
                create_staff(conn, DEMO_STAFF, password, now)
            else:  # the file was lost or edited: give the account a new password
                conn.execute(update(users).where(users.c.id == user.id).values(secret_hash=hash_secret(password)))
    finally:
        engine.dispose()
    login_file.touch(mode=0o600)
    os.chmod(login_file, 0o600)
    login_file.write_text(f"{password}\n")
    return DEMO_STAFF, password


def create_staff_command(database_url: str) -> str:
    """The shell command that adds a staff account to the demo's database (``NAME`` to fill in)."""
    kywash = kywash_command(Path(sys.executable), Path.cwd())
    return f"{kywash} cloud create-staff --database-url {shlex.quote(database_url)} --username NAME"


def kywash_command(python: Path, cwd: Path, on_path: str | None = None) -> str:
    """How to run this installation's ``kywash`` from ``cwd``.

    ``kywash`` itself if PATH finds this script (an activated venv); else the script next to
    ``python``, relative to ``cwd`` when inside it (``.venv/bin/kywash`` from the repo, where
    ``run.py`` starts the demo); else ``python -m launchers.cli``, which is the same command.
    """
    script = python.parent / ("kywash.exe" if os.name == "nt" else "kywash")
    found = on_path if on_path is not None else shutil.which("kywash")
    if found and script.exists() and Path(found).resolve() == script.resolve():
        return "kywash"
    if not script.exists():
        return f"{shlex.quote(str(python))} -m launchers.cli"
    if script.is_relative_to(cwd):
        relative = script.relative_to(cwd).as_posix()
        return shlex.quote(relative if "/" in relative else f"./{relative}")  # a bare name would be looked up on PATH
    return shlex.quote(str(script))


def _stored_hash(conn: Connection, user_id: int) -> str | None:
    return conn.execute(select(users.c.secret_hash).where(users.c.id == user_id)).scalar_one_or_none()
