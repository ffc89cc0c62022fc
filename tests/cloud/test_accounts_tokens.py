"""Token lifetimes, refresh rotation, reuse detection, logout, and tokens we must refuse."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.platform.settings import DEFAULT_SECRET_KEY
from cloud.platform.storage.tables import refresh_tokens, sessions
from kywash.clock import FakeClock
from tests.cloud.accounts_support import make_account

ME = "/api/v1/profile/me"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def register(client: TestClient, student_id: str = "123456") -> dict[str, Any]:
    body = {"student_id": student_id, "pin": "8071", "phone_number": "5551234567"}
    response = client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def code_of(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_access_token_expires_by_the_service_clock(db_client: TestClient, fake_clock: FakeClock) -> None:
    tokens = register(db_client)
    fake_clock.advance(15 * 60 - 1)
    assert db_client.get(ME, headers=bearer(tokens["access_token"])).status_code == 200
    fake_clock.advance(1)
    expired = db_client.get(ME, headers=bearer(tokens["access_token"]))
    assert expired.status_code == 401
    assert code_of(expired) == "token_expired"

    fresh = db_client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert fresh.status_code == 200
    assert db_client.get(ME, headers=bearer(fresh.json()["access_token"])).status_code == 200


def test_refresh_rotates_within_the_same_session(db_client: TestClient) -> None:
    first = register(db_client)
    second = db_client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()
    assert set(second) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert second["refresh_token"] != first["refresh_token"]
    assert claims_of(second["refresh_token"])["sid"] == claims_of(first["refresh_token"])["sid"]
    engine = db_client.app.state.cloud.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        used = dict(conn.execute(select(refresh_tokens.c.jti, refresh_tokens.c.used_at)).all())
    assert used[claims_of(first["refresh_token"])["jti"]] is not None
    assert used[claims_of(second["refresh_token"])["jti"]] is None
    third = db_client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


def test_a_reused_refresh_token_ends_the_whole_session(db_client: TestClient) -> None:
    first = register(db_client)
    second = db_client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()

    replay = db_client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert code_of(replay) == "token_reused"
    assert set(replay.json()) == {"error"}

    for token in (first["access_token"], second["access_token"]):
        ended = db_client.get(ME, headers=bearer(token))
        assert ended.status_code == 401
        assert code_of(ended) == "session_ended"
    latest = db_client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert latest.status_code == 401
    assert code_of(latest) == "session_ended"
    engine = db_client.app.state.cloud.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.scalar(select(sessions.c.revoked_reason)) == "token_reused"


def test_refresh_token_expires(db_client: TestClient, fake_clock: FakeClock) -> None:
    tokens = register(db_client)
    fake_clock.advance(30 * 24 * 3600)
    response = db_client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401
    assert code_of(response) == "token_expired"


def test_logout_ends_the_session_at_once(db_client: TestClient) -> None:
    tokens = register(db_client)
    other = db_client.post("/api/v1/auth/login", json={"student_id": "123456", "pin": "8071"}).json()

    response = db_client.post(
        LOGOUT, headers=bearer(tokens["access_token"]), json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 204
    assert response.content == b""

    old_access = db_client.get(ME, headers=bearer(tokens["access_token"]))
    assert old_access.status_code == 401
    assert code_of(old_access) == "session_ended"
    old_refresh = db_client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert old_refresh.status_code == 401
    assert code_of(old_refresh) == "session_ended"
    assert db_client.get(ME, headers=bearer(other["access_token"])).status_code == 200  # another login lives on


def test_logout_refuses_a_refresh_token_of_another_session(db_client: TestClient) -> None:
    mine = register(db_client)
    theirs = make_account(db_client, "654321")
    response = db_client.post(
        LOGOUT, headers=bearer(mine["access_token"]), json={"refresh_token": theirs.refresh_token}
    )
    assert response.status_code == 403
    assert code_of(response) == "wrong_session"
    assert db_client.get(ME, headers=theirs.headers).status_code == 200
    assert db_client.get(ME, headers=bearer(mine["access_token"])).status_code == 200


def test_logout_needs_the_bearer_and_a_valid_refresh_token(client: TestClient) -> None:
    tokens = register(client)
    assert client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    garbage = client.post(LOGOUT, headers=bearer(tokens["access_token"]), json={"refresh_token": "nonsense"})
    assert garbage.status_code == 401
    assert code_of(garbage) == "invalid_token"


def forged(tokens: dict[str, Any], *, key: str, algorithm: str, **changes: Any) -> str:
    claims = {**claims_of(tokens["access_token"]), **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS384 forgery with a short key
@pytest.mark.parametrize(
    ("key", "algorithm", "changes"),
    [
        ("another-secret-key-of-enough-length!!", "HS256", {}),
        ("", "none", {}),
        (DEFAULT_SECRET_KEY, "HS384", {}),  # our key, but not our algorithm
        (DEFAULT_SECRET_KEY, "HS256", {"typ": "refresh"}),
        (DEFAULT_SECRET_KEY, "HS256", {"sid": None}),
        (DEFAULT_SECRET_KEY, "HS256", {"sub": "not-a-number"}),
    ],
    ids=["other-key", "alg-none", "other-alg", "wrong-typ", "no-sid", "bad-sub"],
)
def test_tokens_we_did_not_issue_as_given_are_refused(
    client: TestClient, key: str, algorithm: str, changes: dict[str, Any]
) -> None:
    token = forged(register(client), key=key, algorithm=algorithm, **changes)
    response = client.get(ME, headers=bearer(token))
    assert response.status_code == 401
    assert code_of(response) == "invalid_token"


def test_the_untouched_forgery_baseline_is_accepted(client: TestClient) -> None:
    """Re-signing unchanged claims with our key works, so the refusals above are about what changed."""
    token = forged(register(client), key=DEFAULT_SECRET_KEY, algorithm="HS256")
    assert client.get(ME, headers=bearer(token)).status_code == 200


def test_access_and_refresh_tokens_are_not_interchangeable(client: TestClient) -> None:
    tokens = register(client)
    as_bearer = client.get(ME, headers=bearer(tokens["refresh_token"]))
    assert (as_bearer.status_code, code_of(as_bearer)) == (401, "invalid_token")
    as_refresh = client.post(REFRESH, json={"refresh_token": tokens["access_token"]})
    assert (as_refresh.status_code, code_of(as_refresh)) == (401, "invalid_token")
    garbage = client.post(REFRESH, json={"refresh_token": "not.a.jwt"})
    assert (garbage.status_code, code_of(garbage)) == (401, "invalid_token")
