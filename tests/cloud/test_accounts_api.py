"""Register, log in and profile through the real endpoints, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from cloud.platform.storage.tables import activities
from tests.cloud.accounts_support import make_account

STUDENT = {"student_id": "123456", "pin": "8071", "phone_number": "5551234567"}


def register(client: TestClient, **changes: str) -> Any:
    return client.post("/api/v1/auth/register", json={**STUDENT, **changes})


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    return body["error"]


def activity_types(client: TestClient) -> list[str]:
    engine = client.app.state.cloud.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return list(conn.scalars(select(activities.c.type).order_by(activities.c.id)))


def test_register_returns_a_token_pair_and_a_profile(db_client: TestClient) -> None:
    response = register(db_client, phone_number="(555) 123-4567")
    assert response.status_code == 201
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60

    me = db_client.get("/api/v1/profile/me", headers=bearer(tokens))
    assert me.status_code == 200
    profile = me.json()
    assert profile["role"] == "student"
    assert profile["student_id"] == "123456"
    assert profile["username"] is None
    assert profile["phone_number"] == "+15551234567"
    assert set(profile) == {
        "id",
        "role",
        "student_id",
        "username",
        "phone_number",
        "created_at",
        "alert_before_minutes",
        "language",
    }
    assert profile["alert_before_minutes"] == 0  # the alert before the end is off until chosen
    assert profile["language"] is None  # not chosen yet: notifications in English
    assert profile["created_at"].startswith("2026-01-01T00:00:00")
    assert activity_types(db_client) == ["registered"]


def test_a_second_registration_of_the_same_id_conflicts(db_client: TestClient) -> None:
    assert register(db_client).status_code == 201
    again = register(db_client, pin="0000")
    assert again.status_code == 409
    assert error_of(again)["code"] == "already_registered"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("student_id", "12345", "exactly 6 digits"),
        ("student_id", "1234567", "exactly 6 digits"),
        ("student_id", "12345a", "exactly 6 digits"),
        ("student_id", "١٢٣٤٥٦", "exactly 6 digits"),  # Arabic-Indic digits are not a student ID
        ("pin", "123", "exactly 4 digits"),
        ("pin", "12345", "exactly 4 digits"),
        ("pin", "12a4", "exactly 4 digits"),
        ("phone_number", "123", "not a possible phone number"),
        ("phone_number", "call me", "not a phone number"),
        ("phone_number", "5551234567 ext. 9", "extension"),
        ("phone_number", "0991234567", "looks like a local number from outside US"),  # not +1 099...
    ],
)
def test_bad_registration_input_is_422_naming_the_field(
    client: TestClient, field: str, value: str, message: str
) -> None:
    response = register(client, **{field: value})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_input"
    assert message in error["message"]
    assert [f["field"] for f in error["fields"]] == [field]


def test_missing_fields_are_422(client: TestClient) -> None:
    response = client.post("/api/v1/auth/register", json={"student_id": "123456"})
    assert response.status_code == 422
    assert {f["field"] for f in error_of(response)["fields"]} == {"pin", "phone_number"}


def test_international_numbers_keep_their_country(client: TestClient) -> None:
    tokens = register(client, phone_number="+44 20 7946 0958").json()
    assert client.get("/api/v1/profile/me", headers=bearer(tokens)).json()["phone_number"] == "+442079460958"


def test_nobody_registers_as_staff(client: TestClient) -> None:
    tokens = register(client, role="staff", username="mallory").json()
    profile = client.get("/api/v1/profile/me", headers=bearer(tokens)).json()
    assert (profile["role"], profile["username"]) == ("student", None)


def test_login_with_the_right_pin_starts_a_session(db_client: TestClient) -> None:
    register(db_client)
    response = db_client.post("/api/v1/auth/login", json={"student_id": "123456", "pin": "8071"})
    assert response.status_code == 200
    assert db_client.get("/api/v1/profile/me", headers=bearer(response.json())).status_code == 200
    assert activity_types(db_client) == ["registered", "login"]


def test_wrong_pin_and_unknown_id_look_the_same(db_client: TestClient) -> None:
    register(db_client)
    wrong_pin = db_client.post("/api/v1/auth/login", json={"student_id": "123456", "pin": "0000"})
    unknown = db_client.post("/api/v1/auth/login", json={"student_id": "654321", "pin": "8071"})
    assert wrong_pin.status_code == unknown.status_code == 401
    assert error_of(wrong_pin) == error_of(unknown)
    assert error_of(wrong_pin)["code"] == "invalid_credentials"


def test_staff_log_in_with_username_and_password(db_client: TestClient) -> None:
    make_account(db_client, "janitor", role="staff", secret="correct horse battery")
    body = {"username": " Janitor ", "password": "correct horse battery"}
    response = db_client.post("/api/v1/auth/staff/login", json=body)
    assert response.status_code == 200
    profile = db_client.get("/api/v1/profile/me", headers=bearer(response.json())).json()
    assert (profile["role"], profile["username"], profile["student_id"]) == ("staff", "janitor", None)

    wrong = db_client.post("/api/v1/auth/staff/login", json={**body, "password": "correct horse battery!"})
    assert wrong.status_code == 401
    assert error_of(wrong)["code"] == "invalid_credentials"


def test_a_student_cannot_use_the_staff_login(client: TestClient) -> None:
    register(client)
    response = client.post("/api/v1/auth/staff/login", json={"username": "123456", "password": "8071"})
    assert response.status_code == 401


def test_profile_needs_a_bearer_token(client: TestClient) -> None:
    response = client.get("/api/v1/profile/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_update_phone_number(db_client: TestClient) -> None:
    tokens = register(db_client).json()
    response = db_client.put("/api/v1/profile/update", headers=bearer(tokens), json={"phone_number": "859 555 1234"})
    assert response.status_code == 200
    assert response.json()["phone_number"] == "+18595551234"
    assert db_client.get("/api/v1/profile/me", headers=bearer(tokens)).json()["phone_number"] == "+18595551234"
    assert activity_types(db_client) == ["registered", "profile_updated"]


def test_update_refuses_a_bad_phone_number_and_keeps_the_old_one(client: TestClient) -> None:
    tokens = register(client).json()
    response = client.put("/api/v1/profile/update", headers=bearer(tokens), json={"phone_number": "12"})
    assert response.status_code == 422
    assert error_of(response)["fields"][0]["field"] == "phone_number"
    assert client.get("/api/v1/profile/me", headers=bearer(tokens)).json()["phone_number"] == "+15551234567"


def test_update_needs_a_bearer_token(client: TestClient) -> None:
    response = client.put("/api/v1/profile/update", json={"phone_number": "5551234567"})
    assert response.status_code == 401


def test_the_pin_never_reaches_the_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # SQL statements and their parameters too
    register(client)
    client.post("/api/v1/auth/login", json={"student_id": "123456", "pin": "9462"})
    client.post("/api/v1/auth/login", json={"student_id": "123456", "pin": "8071"})
    client.post("/api/v1/auth/login", json={"student_id": "123456", "pin": "94x2"})
    logged = "\n".join(f"{record.getMessage()} {record.args!r}" for record in caplog.records)
    assert "login failed" in logged  # the failure was logged, without what was typed
    # A PIN on its own (not inside a random token or hash, where four digits may occur by chance).
    for pin in ("8071", "9462", "94x2"):
        assert not re.search(rf"(?<![\w+/=-]){pin}(?![\w+/=-])", logged), pin
