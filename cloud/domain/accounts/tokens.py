"""Access and refresh tokens (pyjwt, HS256): short-lived access, rotating refresh.

Every token carries ``sub`` (user id), ``sid`` (the session: one login and all its
refreshes), ``jti``, ``iat``, ``exp`` and ``typ`` (access or refresh). Decoding fixes the
algorithm and requires every claim, so a token signed with ``none`` or another key, an
expired one, or a refresh token presented as an access token is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

import jwt

from cloud.platform.errors import Unauthorized
from cloud.platform.texts import text

ALGORITHM: Final = "HS256"
TokenType = Literal["access", "refresh"]
REQUIRED_CLAIMS: Final = ["sub", "sid", "jti", "iat", "exp", "typ"]


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    session_id: str
    jti: str
    type: TokenType
    issued_at: datetime
    expires_at: datetime


def new_id() -> str:
    return secrets.token_urlsafe(24)


def encode(
    secret: str, *, user_id: int, session_id: str, type: TokenType, now: datetime, lifetime: timedelta
) -> tuple[str, TokenClaims]:
    claims = TokenClaims(user_id, session_id, new_id(), type, now, now + lifetime)
    token = jwt.encode(
        {
            "sub": str(user_id),
            "sid": session_id,
            "jti": claims.jti,
            "typ": type,
            "iat": int(now.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        },
        secret,
        algorithm=ALGORITHM,
    )
    return token, claims


def decode(secret: str, token: str, *, expected: TokenType, now: datetime) -> TokenClaims:
    """The claims of a valid token of type ``expected``; ``Unauthorized`` for anything else.

    ``now`` comes from the service's clock (not the wall clock), so expiry follows the same
    time as everything else and tests can move it.
    """
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise Unauthorized(text("error.token.invalid"), code="invalid_token") from None
    if payload.get("typ") != expected:
        raise Unauthorized(
            text("error.token.wrong_type", expected=text(f"error.token.type.{expected}")), code="invalid_token"
        )
    try:
        user_id = int(payload["sub"])
        issued_at = datetime.fromtimestamp(int(payload["iat"]), now.tzinfo)
        expires_at = datetime.fromtimestamp(int(payload["exp"]), now.tzinfo)
    except (TypeError, ValueError):
        raise Unauthorized(text("error.token.invalid"), code="invalid_token") from None
    if now >= expires_at:
        raise Unauthorized(text("error.token.expired"), code="token_expired")
    return TokenClaims(user_id, str(payload["sid"]), str(payload["jti"]), expected, issued_at, expires_at)
