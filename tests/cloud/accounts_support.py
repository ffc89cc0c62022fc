"""Test users without going through register/login: a row, a session and a token pair.

For tests of other areas (claims, faults, notifications) that need "a student" or
"staff" quickly; the accounts tests themselves go through the real endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from cloud.domain.accounts.sessions import start_session
from cloud.domain.accounts.users import create_user
from cloud.platform.viewer import STAFF, STUDENT
from kywash.clock import to_datetime


@dataclass
class Account:
    id: int
    login: str
    role: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def make_account(client: TestClient, login: str, *, role: str = STUDENT, secret: str | None = None) -> Account:
    """A user in the running app's database (student ID or staff username ``login``), logged in."""
    state: Any = client.app.state.cloud  # type: ignore[attr-defined]
    now = to_datetime(state.clock.now())
    with state.engine.begin() as conn:
        user = create_user(
            conn,
            role=role,
            secret=secret or ("1234" if role == STUDENT else "staff-password-123"),
            now=now,
            student_id=login if role == STUDENT else None,
            username=login if role == STAFF else None,
            phone_number="+15551234567" if role == STUDENT else None,
        )
        pair = start_session(conn, state.settings, user.id, now)
    return Account(user.id, login, role, pair.access_token, pair.refresh_token)


def choose_language(client: TestClient, account: Account, language: str) -> None:
    """The account's language, as the web app's switch stores it."""
    response = client.put("/api/v1/profile/update", headers=account.headers, json={"language": language})
    assert response.status_code == 200, response.text
