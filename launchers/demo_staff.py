"""The demo's staff login: made once per data directory, printed at every start.

A newcomer wants to try the staff side at once. ``kywash cloud create-staff`` writes the
database its settings name, which is not the demo's unless it is told (the demo prints
that exact command too), so the demo makes one staff account itself and keeps its
password in the data directory, readable only by its owner.
"""

from __future__ import annotations

import os
import secrets
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


def _stored_hash(conn: Connection, user_id: int) -> str | None:
    return conn.execute(select(users.c.secret_hash).where(users.c.id == user_id)).scalar_one_or_none()
