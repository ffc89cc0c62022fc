"""``/api/v1/push``: the public key, subscribing a browser and unsubscribing it; who may do what."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.accounts_support import make_account
from tests.cloud.push_support import Browser, b64url, unb64url

KEY = "/api/v1/push/key"
SUBSCRIPTIONS = "/api/v1/push/subscriptions"
ENDPOINT = "https://push.example.com/v1/abc"


def test_the_public_key_is_anonymous_and_an_uncompressed_p256_point(db_client: TestClient) -> None:
    answer = db_client.get(KEY)
    assert answer.status_code == 200
    key = answer.json()["public_key"]
    assert "=" not in key
    raw = unb64url(key)
    assert len(raw) == 65 and raw[0] == 0x04


def test_subscribing_again_from_another_account_moves_the_browser(db_client: TestClient) -> None:
    alice, bob = make_account(db_client, "100001"), make_account(db_client, "100002")
    first = db_client.post(SUBSCRIPTIONS, json=Browser().subscription(ENDPOINT), headers=alice.headers)
    assert first.status_code == 201, first.text
    assert first.json() == {"id": first.json()["id"], "endpoint": ENDPOINT}

    moved = db_client.post(SUBSCRIPTIONS, json=Browser().subscription(ENDPOINT), headers=bob.headers)
    assert moved.status_code == 201 and moved.json()["id"] == first.json()["id"]

    gone = db_client.request("DELETE", SUBSCRIPTIONS, json={"endpoint": ENDPOINT}, headers=alice.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "subscription_not_found"
    deleted = db_client.request("DELETE", SUBSCRIPTIONS, json={"endpoint": ENDPOINT}, headers=bob.headers)
    assert deleted.status_code == 204
    again = db_client.request("DELETE", SUBSCRIPTIONS, json={"endpoint": ENDPOINT}, headers=bob.headers)
    assert again.status_code == 404


def test_anonymous_may_not_subscribe_or_unsubscribe(db_client: TestClient) -> None:
    made = db_client.post(SUBSCRIPTIONS, json=Browser().subscription(ENDPOINT))
    assert made.status_code == 401 and made.json()["error"]["code"] == "not_authenticated"
    removed = db_client.request("DELETE", SUBSCRIPTIONS, json={"endpoint": ENDPOINT})
    assert removed.status_code == 401


def _with(path: str, value: Any) -> dict[str, Any]:
    body = Browser().subscription(ENDPOINT)
    if path == "endpoint":
        body["endpoint"] = value
    elif path == "keys":
        body["keys"] = value
    else:
        body["keys"][path] = value
    return body


GOOD_P256DH = Browser().p256dh


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_with("endpoint", "ftp://push.example.com/abc"), "endpoint"),
        (_with("endpoint", "not a url"), "endpoint"),
        (_with("endpoint", "https://"), "endpoint"),
        (_with("endpoint", "https://push.example.com:port/abc"), "endpoint"),
        (_with("endpoint", "https://push.example.com/" + "a" * 2048), "endpoint"),
        (_with("p256dh", b64url(bytes(64))), "keys.p256dh"),
        (_with("p256dh", b64url(b"\x02" + bytes(64))), "keys.p256dh"),
        (_with("p256dh", "not/base64+url"), "keys.p256dh"),
        (_with("auth", b64url(bytes(15))), "keys.auth"),
        (_with("auth", b64url(bytes(32))), "keys.auth"),
        (_with("auth", ""), "keys.auth"),
        (_with("keys", {"p256dh": GOOD_P256DH}), "keys.auth"),
        ({"endpoint": ENDPOINT}, "keys"),
    ],
)
def test_a_malformed_subscription_is_refused_with_the_field(client: TestClient, body: Any, field: str) -> None:
    alice = make_account(client, "100001")
    answer = client.post(SUBSCRIPTIONS, json=body, headers=alice.headers)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in [problem["field"] for problem in error["fields"]]


def test_padded_keys_are_accepted_and_stored_unpadded(client: TestClient) -> None:
    alice, browser = make_account(client, "100001"), Browser()
    body = browser.subscription(ENDPOINT)
    body["keys"]["auth"] = base64.urlsafe_b64encode(browser.auth).decode()
    assert body["keys"]["auth"].endswith("==")
    assert client.post(SUBSCRIPTIONS, json=body, headers=alice.headers).status_code == 201


def test_with_web_push_off_there_is_no_key_and_no_subscribing(
    offline_settings: CloudSettings, fake_clock: FakeClock, tmp_path: Path
) -> None:
    settings = offline_settings.model_copy(update={"web_push": False, "vapid_key_path": str(tmp_path / "k.pem")})
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        alice = make_account(client, "100001")
        assert client.get(KEY).json()["error"]["code"] == "push_disabled"
        refused = client.post(SUBSCRIPTIONS, json=Browser().subscription(ENDPOINT), headers=alice.headers)
        assert refused.status_code == 404
        assert client.app.state.cloud.push is None  # type: ignore[attr-defined]
    assert not (tmp_path / "k.pem").exists(), "no key is made when web push is off"


def test_production_takes_only_https_endpoints(offline_settings: CloudSettings, fake_clock: FakeClock) -> None:
    settings = offline_settings.model_copy(
        update={"environment": "production", "secret_key": SecretStr("s" * 40), "vapid_subject": "mailto:a@b.edu"}
    )
    with TestClient(create_app(settings, clock=fake_clock)) as client:
        alice = make_account(client, "100001")
        plain = client.post(SUBSCRIPTIONS, json=Browser().subscription("http://10.0.0.1/x"), headers=alice.headers)
        assert plain.status_code == 422 and plain.json()["error"]["code"] == "insecure_endpoint"
        secure = client.post(SUBSCRIPTIONS, json=Browser().subscription(ENDPOINT), headers=alice.headers)
        assert secure.status_code == 201


@pytest.mark.parametrize("subject", ["admin@kywash.edu", "mailto:", "mailto:nobody", "http://kywash.edu"])
def test_the_vapid_subject_must_be_a_contact(subject: str) -> None:
    with pytest.raises(ValueError, match="vapid_subject"):
        CloudSettings(vapid_subject=subject)
