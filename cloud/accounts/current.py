"""Who is asking: the ``CurrentUser`` / ``StaffUser`` / ``OptionalUser`` dependencies.

An access token alone is not enough: its session must still be live, so logging out (or a
reused refresh token revoking the family) ends access at once, not when the token expires.
That costs one indexed query per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.requests import HTTPConnection
from sqlalchemy import Connection, select

from cloud.accounts import tokens
from cloud.deps import StateDep
from cloud.errors import Forbidden, Unauthorized
from cloud.storage.tables import sessions, users
from kywash.clock import to_datetime

STUDENT = "student"
STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated user of a request or WebSocket."""

    id: int
    role: str
    student_id: str | None
    username: str | None
    session_id: str

    @property
    def is_staff(self) -> bool:
        return self.role == STAFF

    @property
    def login(self) -> str:
        return self.student_id or self.username or str(self.id)


def viewer_for_token(conn: Connection, secret: str, token: str, *, now_ts: float) -> Viewer:
    """The user behind an access token whose session is still live; ``Unauthorized`` otherwise."""
    claims = tokens.decode(secret, token, expected="access", now=to_datetime(now_ts))
    row = conn.execute(
        select(users.c.id, users.c.role, users.c.student_id, users.c.username)
        .select_from(users.join(sessions, sessions.c.user_id == users.c.id))
        .where(sessions.c.id == claims.session_id, users.c.id == claims.user_id, sessions.c.revoked_at.is_(None))
    ).first()
    if row is None:
        raise Unauthorized("this session has ended; log in again", code="session_ended")
    return Viewer(row.id, row.role, row.student_id, row.username, claims.session_id)


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def optional_user(connection: HTTPConnection, state: StateDep) -> Viewer | None:
    token = bearer_token(connection)
    if token is None:
        return None
    with state.engine.connect().execution_options(kywash_readonly=True) as conn:
        return viewer_for_token(conn, state.settings.secret_key.get_secret_value(), token, now_ts=state.clock.now())


def current_user(viewer: Annotated[Viewer | None, Depends(optional_user)]) -> Viewer:
    if viewer is None:
        raise Unauthorized("log in first: send Authorization: Bearer <access token>", code="not_authenticated")
    return viewer


def staff_user(viewer: Annotated[Viewer, Depends(current_user)]) -> Viewer:
    if not viewer.is_staff:
        raise Forbidden("only staff may do this")
    return viewer


OptionalUser = Annotated[Viewer | None, Depends(optional_user)]
CurrentUser = Annotated[Viewer, Depends(current_user)]
StaffUser = Annotated[Viewer, Depends(staff_user)]
