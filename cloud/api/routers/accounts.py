"""``/api/v1/auth/*`` and ``/api/v1/profile/*``: the original KY Wash account endpoints.

Login routes take the app state rather than ``TxDep``: a failed attempt must be counted
even though the request fails, so the service commits before it raises.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Request, Response

from cloud.api.auth import STAFF, STUDENT, CurrentUser
from cloud.api.deps import ReadConnDep, StateDep, TxDep
from cloud.domain.accounts import access
from cloud.domain.accounts.passwords import hash_secret
from cloud.domain.accounts.schemas import (
    ProfilePublic,
    ProfileUpdate,
    StaffLogin,
    StudentCreate,
    StudentLogin,
    TokenRefresh,
)
from cloud.domain.accounts.sessions import TokenPair
from cloud.platform.settings import CloudSettings
from cloud.platform.unit_of_work import committed_or_refused
from cloud.policy import preferences

router = APIRouter(prefix="/api/v1", tags=["accounts"])

_LOGIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "`invalid_credentials`: wrong PIN/password or unknown login (deliberately the same)"},
    429: {"description": "`locked`: too many failures; `Retry-After` header and `retry_after` field in seconds"},
}


def client_address(request: Request, settings: CloudSettings) -> str:
    """The address the address throttle counts: the TCP peer, or what our reverse proxy saw.

    With ``trust_forwarded_for`` we take the *last* ``X-Forwarded-For`` hop, the one our
    proxy appended: the hops before it are whatever the client chose to send, and counting
    those would let an attacker pick a fresh address for every guess. A proxy that replaces
    the header (nginx ``proxy_set_header X-Forwarded-For $remote_addr``) sends one hop only.
    """
    peer = request.client.host if request.client else "unknown"
    if not settings.trust_forwarded_for:
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    if not hops:
        return peer
    try:
        return str(ipaddress.ip_address(hops[-1]))
    except ValueError:
        return peer


@router.post("/auth/register", status_code=201, response_model=TokenPair, responses={409: {}, 422: {}})
def register(body: StudentCreate, state: StateDep) -> TokenPair:
    """Sign up with a 6-digit student ID, a 4-digit PIN and a phone number; logged in at once."""
    pin_hash = hash_secret(body.pin)  # the slow part, before the transaction takes the write lock
    with committed_or_refused(), state.transactions.begin() as tx:
        return access.register(tx, body, pin_hash)


@router.post("/auth/login", response_model=TokenPair, responses=_LOGIN_ERRORS)
def login(body: StudentLogin, request: Request, state: StateDep) -> TokenPair:
    attempt = access.LoginAttempt(STUDENT, body.student_id, body.pin, client_address(request, state.settings))
    return access.log_in(state.transactions, attempt)


@router.post("/auth/staff/login", response_model=TokenPair, responses=_LOGIN_ERRORS)
def staff_login(body: StaffLogin, request: Request, state: StateDep) -> TokenPair:
    """Staff accounts are made with ``kywash cloud create-staff``; same throttle as students."""
    attempt = access.LoginAttempt(STAFF, body.username, body.password, client_address(request, state.settings))
    return access.log_in(state.transactions, attempt)


@router.post("/auth/refresh", response_model=TokenPair, responses={401: {}})
def refresh(body: TokenRefresh, state: StateDep) -> TokenPair:
    """Swap a refresh token for a new pair. Each refresh token works once: a second use
    (``token_reused``) ends the session, since a copy of it is in someone else's hands."""
    return access.refresh(state.transactions, body.refresh_token)


@router.post("/auth/logout", status_code=204, response_class=Response, responses={401: {}, 403: {}})
def logout(body: TokenRefresh, viewer: CurrentUser, tx: TxDep) -> Response:
    """End this session on the server: its access and refresh tokens stop working at once.

    The refresh token must be one of the bearer's own session, else 403 ``wrong_session``
    (the caller is authenticated but may not end someone else's session).
    """
    access.log_out(tx, viewer, body.refresh_token)
    return Response(status_code=204)


@router.get("/profile/me", response_model=ProfilePublic)
def me(viewer: CurrentUser, conn: ReadConnDep) -> ProfilePublic:
    return access.profile(conn, viewer)


@router.put("/profile/update", response_model=ProfilePublic, responses={422: {}})
def update_profile(body: ProfileUpdate, viewer: CurrentUser, tx: TxDep, state: StateDep) -> ProfilePublic:
    """Change the phone number, the alert before the end (``alert_before_minutes``: 0 off, 5 or
    10; anything else is a 422), or both; what is left out stays."""
    updated = preferences.update_profile(tx, viewer, body)
    state.sessions.forget(viewer.session_id)  # its cached viewer carries the language texts are in
    return updated
