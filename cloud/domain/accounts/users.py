"""Reading and creating user rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from cloud.domain.accounts.passwords import hash_secret
from cloud.platform.errors import Conflict
from cloud.platform.storage.repository import insert_ignoring_duplicates
from cloud.platform.storage.tables import users
from cloud.platform.texts import text


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    role: str
    student_id: str | None
    username: str | None
    display_name: str | None
    phone_number: str | None
    secret_hash: str
    created_at: datetime
    alert_before_min: int = 0
    """Minutes before a claimed cycle's expected end to be told it is nearly over (0: off)."""
    language: str | None = None
    """The chosen language code (``en``, ``es``), or None: not chosen."""


_COLUMNS = [users.c.id, users.c.role, users.c.student_id, users.c.username, users.c.display_name]
_COLUMNS += [users.c.phone_number, users.c.secret_hash, users.c.created_at, users.c.alert_before_min]
_COLUMNS += [users.c.language]


def create_user(
    conn: Connection,
    *,
    role: str,
    now: datetime,
    secret: str | None = None,
    secret_hash: str | None = None,
    student_id: str | None = None,
    username: str | None = None,
    phone_number: str | None = None,
    display_name: str | None = None,
) -> UserRecord:
    """A new user; ``Conflict`` when the student ID or username is taken (even by a racing request).

    Pass ``secret_hash`` (from ``hash_secret``, computed before the transaction) rather than
    ``secret`` where a transaction is open: hashing takes a quarter of a second, and on SQLite
    the transaction holds the database's only write lock meanwhile.
    """
    if (secret is None) == (secret_hash is None):
        raise TypeError("pass exactly one of secret and secret_hash")
    values = {
        "role": role,
        "student_id": student_id,
        "username": username,
        "phone_number": phone_number,
        "display_name": display_name,
        "secret_hash": secret_hash if secret_hash is not None else hash_secret(str(secret)),
        "created_at": now,
    }
    unique = ("student_id",) if student_id is not None else ("username",)
    if not insert_ignoring_duplicates(conn, users, values, unique):
        taken = "error.account.student_id_taken" if student_id else "error.account.username_taken"
        raise Conflict(text(taken), code="already_registered")
    found = find_by_login(conn, student_id=student_id, username=username)
    assert found is not None
    return found


def find_by_login(conn: Connection, *, student_id: str | None = None, username: str | None = None) -> UserRecord | None:
    column, value = (users.c.student_id, student_id) if student_id is not None else (users.c.username, username)
    row = conn.execute(select(*_COLUMNS).where(column == value)).first()
    return UserRecord(*row) if row else None


def get_user(conn: Connection, user_id: int) -> UserRecord | None:
    row = conn.execute(select(*_COLUMNS).where(users.c.id == user_id)).first()
    return UserRecord(*row) if row else None
