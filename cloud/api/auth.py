"""Who is asking: the ``CurrentUser`` / ``StaffUser`` / ``OptionalUser`` dependencies.

An access token alone is not enough: its session must still be live, so logging out (or a
reused refresh token revoking the family) ends access at once, not when the token expires.
That is one indexed query, which a replica skips for a session it found live in the last
``SESSION_CACHE_TTL_S`` seconds; a revocation made on this replica takes effect at once, one
made on another within that time (``cloud/domain/accounts/session_cache.py``). Requests that
need the same session at the same moment share one query.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Annotated

from fastapi import Depends
from fastapi.requests import HTTPConnection
from starlette.concurrency import run_in_threadpool

from cloud.api.deps import Runtime, StateDep
from cloud.domain.accounts import tokens
from cloud.domain.accounts.sessions import session_viewer
from cloud.platform.errors import Forbidden, Unauthorized
from cloud.platform.languages import reader_language
from cloud.platform.texts import text
from cloud.platform.viewer import STAFF, STUDENT, Viewer
from kywash.clock import to_datetime


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(state: Runtime, token: str) -> Viewer:
    """The viewer of an access token: checked for signature and expiry on every call, for a
    live session in the database unless this replica saw it live in the last few seconds."""
    secret = state.settings.secret_key.get_secret_value()
    claims = tokens.decode(secret, token, expected="access", now=to_datetime(state.clock.now()))
    viewer = state.sessions.get(claims.session_id)
    if viewer is not None and viewer.id == claims.user_id:
        return viewer
    viewer = await state.sessions.load(
        claims.session_id, functools.partial(run_in_threadpool, _load_viewer, state, claims)
    )
    if viewer.id != claims.user_id:  # another user's token naming the same session: never shared
        viewer = await run_in_threadpool(_load_viewer, state, claims)
    return viewer


def _load_viewer(state: Runtime, claims: tokens.TokenClaims) -> Viewer:
    with state.transactions.read() as conn:
        return session_viewer(conn, claims)


async def optional_user(connection: HTTPConnection, state: StateDep) -> Viewer | None:
    token = bearer_token(connection)
    viewer = None if token is None else await authenticate(state, token)
    connection.state.viewer = viewer  # errors of this request are written in its language
    return viewer


async def current_user(viewer: Annotated[Viewer | None, Depends(optional_user)]) -> Viewer:
    if viewer is None:
        raise Unauthorized(text("error.auth.not_authenticated"), code="not_authenticated")
    return viewer


async def staff_user(viewer: Annotated[Viewer, Depends(current_user)]) -> Viewer:
    if not viewer.is_staff:
        raise Forbidden(text("error.auth.staff_only"))
    return viewer


__all__ = ["STAFF", "STUDENT", "CurrentUser", "OptionalUser", "StaffUser", "Viewer", "authenticate", "bearer_token"]


async def current_reader(connection: HTTPConnection, viewer: Annotated[Viewer, Depends(current_user)]) -> Viewer:
    """The viewer, their ``language`` settled: their stored choice, else the request's
    ``Accept-Language`` (what the server writes for them is in it)."""
    language = reader_language(viewer.language, connection.headers.get("accept-language"))
    return viewer if viewer.language == language else dataclasses.replace(viewer, language=language)


OptionalUser = Annotated[Viewer | None, Depends(optional_user)]
CurrentUser = Annotated[Viewer, Depends(current_user)]
StaffUser = Annotated[Viewer, Depends(staff_user)]
Reader = Annotated[Viewer, Depends(current_reader)]
"""``CurrentUser`` with ``language`` always set (lists of server-written texts)."""
