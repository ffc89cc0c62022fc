"""``/api/ws`` needs a live session: who may connect, and who hears which personal messages.

Personal messages go to their user only; to prove one did *not* reach someone, the test
then sends that someone a message of their own: the hub keeps each client's order, so
if the first had leaked, it would arrive before the second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from cloud.api.routers import websocket as realtime
from cloud.domain.accounts import tokens
from cloud.domain.accounts.sessions import revoke_session
from cloud.domain.activity.record import record_activity
from cloud.domain.notifications.send import notify
from cloud.platform.settings import CloudSettings
from cloud.platform.unit_of_work import Tx
from cloud.runtime.app import create_app
from kywash.clock import FakeClock, ScaledClock, to_datetime
from tests.cloud.accounts_support import Account, make_account

WS = "/api/ws"
EMPTY_SNAPSHOT = {"type": "snapshot", "rooms": [], "machines": [], "server_time": "2026-01-01T00:00:00Z", "rate": 1.0}
"""On the fake clock, which stands still at 2026-01-01 00:00 UTC."""


def in_tx(client: TestClient, work: Callable[[Tx], Any]) -> Any:
    return client.app.state.cloud.transactions.run(work)  # type: ignore[attr-defined]


def closed_with(ws: WebSocketTestSession) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    return closed.value.code


def connect(client: TestClient, account: Account) -> Any:
    return client.websocket_connect(WS, headers=account.headers)


def test_header_auth_gets_a_snapshot(client: TestClient) -> None:
    alice = make_account(client, "111111")
    with connect(client, alice) as ws:
        assert ws.receive_json() == EMPTY_SNAPSHOT


def test_the_snapshot_carries_the_servers_clock_and_its_rate(offline_settings: CloudSettings) -> None:
    """Each send has its own now (the snapshot text is shared); a sped-up clock says how fast it runs."""
    clock = ScaledClock(speed=60, start=datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp())
    with TestClient(create_app(offline_settings, clock=clock)) as client:
        alice = make_account(client, "111112")
        times = []
        for _ in range(2):
            with connect(client, alice) as ws:
                snapshot = ws.receive_json()
                assert snapshot["rate"] == 60.0
                times.append(datetime.fromisoformat(snapshot["server_time"]))
            time.sleep(0.05)
        assert datetime(2026, 3, 1, 12, tzinfo=UTC) <= times[0] < times[1] <= to_datetime(clock.now())


def test_first_message_auth_gets_a_snapshot(client: TestClient) -> None:
    """Browsers cannot set headers on a WebSocket: they send the token as the first message."""
    alice = make_account(client, "111111")
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "auth", "token": alice.access_token})
        assert ws.receive_json() == EMPTY_SNAPSHOT


@pytest.mark.parametrize(
    "first",
    [
        {"type": "auth", "token": "not-a-token"},
        {"type": "hello"},
        {"type": "auth", "token": 42},
        ["auth"],
    ],
)
def test_a_bad_first_message_is_closed_with_4401(client: TestClient, first: object) -> None:
    with client.websocket_connect(WS) as ws:
        ws.send_json(first)
        assert closed_with(ws) == realtime.CLOSE_UNAUTHORIZED


def test_text_that_is_not_json_is_closed_with_4401(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws:
        ws.send_text("Bearer what?")
        assert closed_with(ws) == 4401


def test_no_token_at_all_is_closed_with_4401(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realtime, "AUTH_TIMEOUT_S", 0.2)  # instead of waiting the real 10 s
    with client.websocket_connect(WS) as ws:
        assert closed_with(ws) == 4401


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic MTExMTExOjEyMzQ="])
def test_a_bad_header_is_closed_with_4401(client: TestClient, monkeypatch: pytest.MonkeyPatch, header: str) -> None:
    """A bad bearer token is refused at once; any other header counts as none (so: wait for the message)."""
    monkeypatch.setattr(realtime, "AUTH_TIMEOUT_S", 0.2)
    with client.websocket_connect(WS, headers={"Authorization": header}) as ws:
        assert closed_with(ws) == 4401


def test_a_refresh_token_is_not_an_access_token(client: TestClient) -> None:
    alice = make_account(client, "111111")
    with client.websocket_connect(WS, headers={"Authorization": f"Bearer {alice.refresh_token}"}) as ws:
        assert closed_with(ws) == 4401


def test_an_expired_token_is_closed_with_4401(client: TestClient, fake_clock: FakeClock) -> None:
    alice = make_account(client, "111111")
    fake_clock.advance(16 * 60)  # access tokens last 15 minutes
    with connect(client, alice) as ws:
        assert closed_with(ws) == 4401


def test_a_revoked_session_cannot_connect(client: TestClient) -> None:
    alice = make_account(client, "111111")
    state = client.app.state.cloud  # type: ignore[attr-defined]
    now = to_datetime(state.clock.now())
    secret = state.settings.secret_key.get_secret_value()
    session = tokens.decode(secret, alice.access_token, expected="access", now=now).session_id
    with state.engine.begin() as conn:
        assert revoke_session(conn, session, now, "logout")
    with connect(client, alice) as ws:
        assert closed_with(ws) == 4401


def test_a_notification_reaches_only_its_user(client: TestClient) -> None:
    alice, bob = make_account(client, "111111"), make_account(client, "222222")
    with connect(client, alice) as alice_ws, connect(client, bob) as bob_ws:
        alice_ws.receive_json(), bob_ws.receive_json()  # snapshots

        sent = in_tx(client, lambda tx: notify(tx, alice.id, "cycle_finished", "Done", "Collect it", {"m": 1}))
        in_tx(client, lambda tx: notify(tx, bob.id, "claim_expired", "Expired", "Too late"))

        assert alice_ws.receive_json() == {
            "type": "notification",
            "notification": {
                "id": sent,
                "type": "cycle_finished",
                "title": "Done",
                "body": "Collect it",
                "data": {"m": 1},
                "created_at": "2026-01-01T00:00:00Z",
                "read": False,
            },
        }
        assert bob_ws.receive_json()["notification"]["title"] == "Expired", "Alice's never reached Bob"


def test_an_activity_reaches_its_user_and_staff(client: TestClient) -> None:
    alice, bob = make_account(client, "111111"), make_account(client, "222222")
    boss = make_account(client, "boss", role="staff")
    with connect(client, alice) as alice_ws, connect(client, bob) as bob_ws, connect(client, boss) as boss_ws:
        for ws in (alice_ws, bob_ws, boss_ws):
            ws.receive_json()  # snapshots

        first = in_tx(client, lambda tx: record_activity(tx, "claim_created", "Alice claimed", user_id=alice.id))
        second = in_tx(client, lambda tx: record_activity(tx, "claim_created", "Bob claimed", user_id=bob.id))

        to_alice = alice_ws.receive_json()
        assert to_alice["type"] == "activity"
        assert to_alice["activity"] == {
            "id": first,
            "type": "claim_created",
            "message": "Alice claimed",
            "user_id": alice.id,
            "data": {},
            "created_at": "2026-01-01T00:00:00Z",
        }
        assert bob_ws.receive_json()["activity"]["id"] == second, "Alice's never reached Bob"
        assert [boss_ws.receive_json()["activity"]["id"] for _ in range(2)] == [first, second]


def test_logging_out_closes_that_sessions_open_sockets(client: TestClient) -> None:
    alice, bob = make_account(client, "111111"), make_account(client, "222222")
    with connect(client, alice) as alice_ws, connect(client, bob) as bob_ws:
        alice_ws.receive_json(), bob_ws.receive_json()  # snapshots
        out = client.post("/api/v1/auth/logout", json={"refresh_token": alice.refresh_token}, headers=alice.headers)
        assert out.status_code == 204
        assert closed_with(alice_ws) == 4401
        in_tx(client, lambda tx: notify(tx, bob.id, "test", "still here", "Bob's socket is untouched"))
        assert bob_ws.receive_json()["notification"]["title"] == "still here"


def test_a_hub_restart_closes_every_socket_with_1012_and_they_may_reconnect(client: TestClient) -> None:
    alice = make_account(client, "111111")
    with connect(client, alice) as ws:
        assert ws.receive_json() == EMPTY_SNAPSHOT
        assert client.app.state.cloud.hub.close_all() == 1  # type: ignore[attr-defined]
        assert closed_with(ws) == realtime.CLOSE_SERVICE_RESTART == 1012
    with connect(client, alice) as ws:
        assert ws.receive_json() == EMPTY_SNAPSHOT
