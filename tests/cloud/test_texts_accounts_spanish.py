"""Accounts, sessions, push, the inbox and the activity feed answer in the reader's language:
a 401 in the request's (``Accept-Language``: nobody is known yet), a 403/404 in the logged-in
user's, a validator's 422 in either. An English reader reads exactly what they did."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.testclient import TestClient

from cloud.domain.accounts import tokens
from kywash.clock import FakeClock, to_datetime
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.push_support import Browser, b64url

SPANISH = {"Accept-Language": "es"}
PROFILE = "/api/v1/profile/me"


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


def both(client: TestClient, method: str, url: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
    """The same request's error read in Spanish (``Accept-Language: es``) and in English."""
    spanish = client.request(method, url, headers={**(headers or {}), **SPANISH}, **kw)
    english = client.request(method, url, headers=headers, **kw)
    return spanish, english


def choose(client: TestClient, account: Account, language: str) -> None:
    response = client.put("/api/v1/profile/update", headers=account.headers, json={"language": language})
    assert response.status_code == 200, response.text


# --- 401s: the request's language ------------------------------------------------------------


def test_no_token_and_a_bad_token_answer_in_the_requests_language(client: TestClient) -> None:
    spanish, english = both(client, "GET", PROFILE)
    assert error(spanish, 401) == {
        "code": "not_authenticated",
        "message": "inicia sesión primero: envía Authorization: Bearer <token de acceso>",
    }
    assert error(english, 401)["message"] == "log in first: send Authorization: Bearer <access token>"
    assert spanish.headers["WWW-Authenticate"] == "Bearer"

    garbage = {"Authorization": "Bearer not-a-jwt"}
    spanish, english = both(client, "GET", PROFILE, garbage)
    assert error(spanish, 401) == {"code": "invalid_token", "message": "el token no es válido"}
    assert error(english, 401)["message"] == "the token is not valid"


def test_a_refresh_token_as_access_an_expired_one_and_an_ended_session_in_spanish(
    client: TestClient, fake_clock: FakeClock
) -> None:
    ana = make_account(client, "300101")
    as_access = {"Authorization": f"Bearer {ana.refresh_token}"}
    spanish, english = both(client, "GET", PROFILE, as_access)
    assert error(spanish, 401) == {"code": "invalid_token", "message": "se esperaba un token de acceso"}
    assert error(english, 401)["message"] == "expected an access token"
    spanish, english = both(client, "POST", "/api/v1/auth/refresh", json={"refresh_token": ana.access_token})
    assert error(spanish, 401)["message"] == "se esperaba un token de renovación"
    assert error(english, 401)["message"] == "expected a refresh token"

    bob = make_account(client, "300102")
    logged_out = client.post("/api/v1/auth/logout", headers=bob.headers, json={"refresh_token": bob.refresh_token})
    assert logged_out.status_code == 204
    spanish, english = both(client, "GET", PROFILE, bob.headers)
    assert error(spanish, 401) == {
        "code": "session_ended",
        "message": "esta sesión ha terminado; vuelve a iniciar sesión",
    }
    assert error(english, 401)["message"] == "this session has ended; log in again"

    secret = client.app.state.cloud.settings.secret_key.get_secret_value()  # type: ignore[attr-defined]
    long_ago = to_datetime(fake_clock.now()).replace(year=2000)
    old, _ = tokens.encode(
        secret, user_id=ana.id, session_id="s", type="access", now=long_ago, lifetime=timedelta(minutes=15)
    )
    spanish, english = both(client, "GET", PROFILE, {"Authorization": f"Bearer {old}"})
    assert error(spanish, 401) == {
        "code": "token_expired",
        "message": "el token ha caducado; renuévalo o vuelve a iniciar sesión",
    }
    assert error(english, 401)["message"] == "the token has expired; refresh it or log in again"


# --- the logged-in user's language -----------------------------------------------------------


def test_a_spanish_student_is_refused_staff_pages_and_missing_things_in_spanish(client: TestClient) -> None:
    ana, bob = make_account(client, "300201"), make_account(client, "300202")
    choose(client, ana, "es")
    assert error(client.get("/api/v1/alarms", headers=ana.headers), 403) == {
        "code": "forbidden",
        "message": "solo el personal puede hacer esto",
    }
    assert error(client.get("/api/v1/alarms", headers=bob.headers), 403)["message"] == "only staff may do this"

    gone = error(client.delete("/api/v1/notifications/999999", headers=ana.headers), 404)
    assert gone == {"code": "notification_not_found", "message": "no existe esa notificación"}
    assert error(client.delete("/api/v1/notifications/999999", headers=bob.headers), 404)["message"] == (
        "no such notification"
    )
    someone = error(client.get(f"/api/v1/activities/user/{bob.id}", headers=ana.headers), 404)
    assert someone == {"code": "user_not_found", "message": "no existe ese usuario"}
    assert error(client.get(f"/api/v1/activities/user/{ana.id}", headers=bob.headers), 404)["message"] == (
        "no such user"
    )

    unsubscribe = {"endpoint": "https://push.example.com/v1/none"}
    spanish = client.request("DELETE", "/api/v1/push/subscriptions", json=unsubscribe, headers=ana.headers)
    assert error(spanish, 404)["message"] == "no existe esa suscripción push"
    english = client.request("DELETE", "/api/v1/push/subscriptions", json=unsubscribe, headers=bob.headers)
    assert error(english, 404)["message"] == "no such push subscription"


# --- validators (422) ------------------------------------------------------------------------


def test_a_bad_student_id_and_pin_are_refused_in_the_requests_language(client: TestClient) -> None:
    body = {"student_id": "12345", "pin": "12", "phone_number": "5551234567"}
    spanish, english = both(client, "POST", "/api/v1/auth/register", json=body)
    assert error(spanish, 422)["fields"] == [
        {"field": "student_id", "message": "debe tener exactamente 6 dígitos"},
        {"field": "pin", "message": "debe tener exactamente 4 dígitos"},
    ]
    assert error(english, 422)["message"] == "student_id: must be exactly 6 digits; pin: must be exactly 4 digits"


def test_an_empty_profile_update_and_a_short_push_key_are_refused_in_the_users_language(
    client: TestClient,
) -> None:
    ana, bob = make_account(client, "300301"), make_account(client, "300302")
    choose(client, ana, "es")
    empty = error(client.put("/api/v1/profile/update", headers=ana.headers, json={}), 422)
    assert empty["message"] == "envía phone_number, alert_before_minutes, language o cualquiera de ellos"
    assert error(client.put("/api/v1/profile/update", headers=bob.headers, json={}), 422)["message"] == (
        "send phone_number, alert_before_minutes, language or any of them"
    )

    subscription = Browser().subscription("https://push.example.com/v1/abc")
    subscription["keys"]["p256dh"] = b64url(bytes(64))
    spanish = error(client.post("/api/v1/push/subscriptions", headers=ana.headers, json=subscription), 422)
    assert spanish["fields"] == [{"field": "keys.p256dh", "message": "debe decodificarse en 65 bytes, no en 64"}]
    english = error(client.post("/api/v1/push/subscriptions", headers=bob.headers, json=subscription), 422)
    assert english["fields"] == [{"field": "keys.p256dh", "message": "must decode to 65 bytes, not 64"}]


def test_a_locked_login_answers_in_the_requests_language(client: TestClient) -> None:
    make_account(client, "300401")
    wrong = {"student_id": "300401", "pin": "9999"}
    for _ in range(5):
        assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
    spanish, english = both(client, "POST", "/api/v1/auth/login", json=wrong)
    assert error(spanish, 429)["message"] == "demasiados intentos fallidos; inténtalo de nuevo en 60 s"
    assert error(english, 429) == {
        "code": "locked",
        "message": "too many failed attempts; try again in 60 s",
        "retry_after": 60,
    }
