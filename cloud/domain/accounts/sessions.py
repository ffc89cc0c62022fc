"""Sessions and the token pairs they hand out.

A session is one login; every refresh token rotated from it belongs to it (a token
family). Logging out revokes the session; presenting a refresh token that was already
used revokes it too (someone replayed a stolen token), and with it every access token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Connection, select, update

from cloud.domain.accounts import tokens
from cloud.platform.errors import Unauthorized
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.tables import refresh_tokens, sessions, users
from cloud.platform.texts import text
from cloud.platform.viewer import Viewer


class TokenPair(BaseModel):
    """What register, login and refresh return (the original KY Wash shape)."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    """Seconds until the access token expires."""


@dataclass(frozen=True, slots=True)
class Lifetimes:
    access: timedelta
    refresh: timedelta

    @classmethod
    def from_settings(cls, settings: CloudSettings) -> Lifetimes:
        return cls(timedelta(minutes=settings.access_token_minutes), timedelta(days=settings.refresh_token_days))


def start_session(conn: Connection, settings: CloudSettings, user_id: int, now: datetime) -> TokenPair:
    """A new session (a login) and its first token pair."""
    session_id = tokens.new_id()
    conn.execute(sessions.insert().values(id=session_id, user_id=user_id, created_at=now))
    return issue_pair(conn, settings, user_id, session_id, now)


def issue_pair(conn: Connection, settings: CloudSettings, user_id: int, session_id: str, now: datetime) -> TokenPair:
    """A fresh access and refresh token in ``session_id``; the refresh token is recorded to detect reuse."""
    secret = settings.secret_key.get_secret_value()
    lifetimes = Lifetimes.from_settings(settings)
    access, _ = tokens.encode(
        secret, user_id=user_id, session_id=session_id, type="access", now=now, lifetime=lifetimes.access
    )
    refresh, claims = tokens.encode(
        secret, user_id=user_id, session_id=session_id, type="refresh", now=now, lifetime=lifetimes.refresh
    )
    conn.execute(
        refresh_tokens.insert().values(
            jti=claims.jti, session_id=session_id, issued_at=now, expires_at=claims.expires_at
        )
    )
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=int(lifetimes.access.total_seconds()))


def revoke_session(conn: Connection, session_id: str, now: datetime, reason: str) -> bool:
    """End a session (idempotent); True if it was live."""
    result = conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return result.rowcount == 1


def session_viewer(conn: Connection, claims: tokens.TokenClaims) -> Viewer:
    """The user of a decoded token, if its session is live (one indexed query)."""
    row = conn.execute(
        select(users.c.id, users.c.role, users.c.student_id, users.c.username, users.c.language)
        .select_from(users.join(sessions, sessions.c.user_id == users.c.id))
        .where(sessions.c.id == claims.session_id, users.c.id == claims.user_id, sessions.c.revoked_at.is_(None))
    ).first()
    if row is None:
        raise Unauthorized(text("error.session.ended"), code="session_ended")
    return Viewer(row.id, row.role, row.student_id, row.username, claims.session_id, row.language)
