"""Locks through the API: 429 ``locked`` with Retry-After, per account and per address, kept in the database.

Limits are lowered in these apps (fewer argon2 checks per test); the rules are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.domain.accounts.access import purge_throttle
from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock, to_datetime

LOGIN = "/api/v1/auth/login"
AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(db_settings: CloudSettings, fake_clock: FakeClock) -> Iterator[AppFactory]:
    """Apps on the test's database and clock with some settings changed (several share one database)."""
    with ExitStack() as stack:

        def make(**changes: Any) -> TestClient:
            settings = db_settings.model_copy(update={"login_max_failures": 3, **changes})
            app = create_app(settings, clock=fake_clock)
            return stack.enter_context(TestClient(app, raise_server_exceptions=False))

        yield make


def register(client: TestClient, student_id: str = "123456") -> None:
    body = {"student_id": student_id, "pin": "8071", "phone_number": "5551234567"}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201


def log_in(client: TestClient, pin: str, student_id: str = "123456", **headers: str) -> Any:
    return client.post(LOGIN, json={"student_id": student_id, "pin": pin}, headers=headers)


def assert_locked(response: Any, seconds: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["Retry-After"] == str(seconds)
    error = response.json()["error"]
    assert (error["code"], error["retry_after"]) == ("locked", seconds)
    assert str(seconds) in error["message"]


def test_an_account_locks_and_each_lock_doubles(make_client: AppFactory, fake_clock: FakeClock) -> None:
    client = make_client()
    register(client)
    for _ in range(3):
        assert log_in(client, "0000").status_code == 401
    assert_locked(log_in(client, "8071"), 60)  # the right PIN is not even tried while locked
    fake_clock.advance(45)
    assert_locked(log_in(client, "8071"), 15)
    fake_clock.advance(15)
    assert log_in(client, "8071").status_code == 200

    # The success cleared the failures but not the lock level: the next lock lasts twice as long.
    for _ in range(3):
        assert log_in(client, "0000").status_code == 401
    assert_locked(log_in(client, "0000"), 120)


def test_a_success_clears_the_failure_count(make_client: AppFactory) -> None:
    client = make_client()
    register(client)
    for pin in ("0000", "0000", "8071", "0000", "0000"):
        log_in(client, pin)
    assert log_in(client, "8071").status_code == 200


def test_locks_are_capped(make_client: AppFactory, fake_clock: FakeClock) -> None:
    client = make_client(login_max_failures=1, login_lock_minutes=1, login_lock_max_minutes=3)
    for expected in (60, 120, 180, 180):
        assert log_in(client, "0000", "654321").status_code == 401
        assert_locked(log_in(client, "0000", "654321"), expected)
        fake_clock.advance(expected)


def test_a_burst_of_parallel_guesses_gets_no_more_tries(make_client: AppFactory) -> None:
    """Each attempt counts before its PIN is checked, so racing requests (on two replicas) cannot overtake the lock."""
    replicas = [make_client(), make_client()]
    with ThreadPoolExecutor(max_workers=8) as pool:
        guesses = [pool.submit(log_in, replicas[i % 2], f"{i:04d}", "654321") for i in range(8)]
        statuses = sorted(guess.result().status_code for guess in guesses)
    assert statuses == [401] * 3 + [429] * 5


def test_unknown_ids_lock_like_real_ones(make_client: AppFactory) -> None:
    client = make_client()
    for _ in range(3):
        assert log_in(client, "0000", "999999").status_code == 401
    assert_locked(log_in(client, "0000", "999999"), 60)


def test_the_lock_is_shared_by_every_replica(make_client: AppFactory) -> None:
    first, second = make_client(), make_client()
    register(first)
    for _ in range(3):
        assert log_in(first, "0000").status_code == 401
    assert_locked(log_in(second, "8071"), 60)


def test_one_address_guessing_across_accounts_is_locked(make_client: AppFactory, fake_clock: FakeClock) -> None:
    client = make_client(login_max_failures=10, address_max_failures=3)
    register(client)
    for student_id in ("111111", "222222", "333333"):
        assert log_in(client, "0000", student_id).status_code == 401
    assert_locked(log_in(client, "8071"), 60)
    # Without a trusted proxy, X-Forwarded-For is the client's own word and changes nothing.
    assert_locked(log_in(client, "8071", **{"X-Forwarded-For": "203.0.113.9"}), 60)
    fake_clock.advance(60)
    assert log_in(client, "8071").status_code == 200


def test_behind_a_trusted_proxy_the_address_is_the_hop_it_appended(make_client: AppFactory) -> None:
    client = make_client(login_max_failures=10, address_max_failures=2, trust_forwarded_for=True)
    register(client)
    attacker = {"X-Forwarded-For": "198.51.100.7"}
    for student_id in ("111111", "222222"):
        assert log_in(client, "0000", student_id, **attacker).status_code == 401
    assert_locked(log_in(client, "0000", "333333", **attacker), 60)
    # Prepending a made-up first hop does not give the attacker a fresh address...
    assert_locked(log_in(client, "0000", "333333", **{"X-Forwarded-For": "10.9.8.7, 198.51.100.7"}), 60)
    # ...while another student's requests through the same proxy are not affected.
    assert log_in(client, "8071", **{"X-Forwarded-For": "192.0.2.44"}).status_code == 200


def test_quiet_throttle_rows_are_purged(make_client: AppFactory, fake_clock: FakeClock) -> None:
    client = make_client(login_max_failures=1)
    assert log_in(client, "0000", "654321").status_code == 401  # locks the account for a minute
    state: Any = client.app.state.cloud  # type: ignore[attr-defined]

    def purge() -> int:
        with state.engine.begin() as conn:
            return purge_throttle(conn, to_datetime(fake_clock.now()), state.settings)

    fake_clock.advance(60 * 60 - 1)
    assert purge() == 0
    fake_clock.advance(1)
    assert purge() == 1  # the address's row: quiet for an hour
    fake_clock.advance(59)
    assert purge() == 0  # the account's lock ended less than an hour ago
    fake_clock.advance(1)
    assert purge() == 1
