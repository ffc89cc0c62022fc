"""A ``/api/ws`` connect is cheap: cached sessions and snapshots, each message serialised once.

When a whole room reconnects at once (a restart), N clients must not cost N session
queries, N snapshot reads and N serialisations of every change. These tests count what the
database is asked (statements seen by the app's engine) and what is serialised; the
figures themselves are ``tests/bench/fanout.py``'s. The caches must never show a stale
room, nor someone else's claim, nor let a logged-out session back in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cloud.api.routers import websocket as realtime
from cloud.domain.accounts.session_cache import SessionCache
from cloud.domain.machines.cache import ViewCache
from cloud.domain.machines.views import MachineView
from cloud.platform.errors import Unauthorized
from cloud.platform.viewer import STUDENT, Viewer
from cloud.processes.live_messages import machine_message, personalise
from kywash.clock import FakeClock
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Feed, Room, open_room

CLIENTS = 20


def state_of(client: TestClient) -> Any:
    return client.app.state.cloud  # type: ignore[attr-defined]


@contextmanager
def statements(client: TestClient) -> Iterator[list[str]]:
    """The queries (SELECTs) the app's engine runs inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            seen.append(sql)

    engine = state_of(client).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def room(client: TestClient, feed: Feed, edge: FakeEdge, fake_clock: FakeClock) -> Room:
    state = state_of(client)
    state.views.ttl_s = state.sessions.ttl_s = 600.0  # real seconds: a slow machine must not expire them
    return open_room(client, feed, edge, fake_clock)


def ws_path(edge: FakeEdge) -> str:
    return f"/api/ws?site={edge.site}&room={edge.room}"


def snapshot_of(client: TestClient, edge: FakeEdge, account: Account) -> dict[str, Any]:
    with client.websocket_connect(ws_path(edge), headers=account.headers) as ws:
        message: dict[str, Any] = ws.receive_json()
    assert message["type"] == "snapshot"
    return message


def washer_1(snapshot: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in snapshot["machines"] if m["id"] == "washer-1")
    return found


def test_many_clients_of_one_room_cost_one_snapshot_read_and_one_session_query(
    client: TestClient, room: Room, edge: FakeEdge
) -> None:
    alice = make_account(client, "111111")
    with statements(client) as first:
        expected = snapshot_of(client, edge, alice)
    assert any("machines" in sql for sql in first), "the first client's snapshot is read from the database"
    assert any("sessions" in sql for sql in first), "and its session checked there"
    with statements(client) as later:
        snapshots = [snapshot_of(client, edge, alice) for _ in range(CLIENTS)]
    assert later == [], "every later client is served from the caches"
    assert snapshots == [expected] * CLIENTS


def test_other_users_cost_only_their_session_query(client: TestClient, room: Room, edge: FakeEdge) -> None:
    snapshot_of(client, edge, make_account(client, "111111"))
    others = [make_account(client, f"2{n:05d}") for n in range(5)]
    with statements(client) as seen:
        for other in others:
            snapshot_of(client, edge, other)
    assert len(seen) == len(others)
    assert all("sessions" in sql and "machines" not in sql for sql in seen)


def test_the_snapshot_after_a_committed_change_shows_it(client: TestClient, room: Room, edge: FakeEdge) -> None:
    alice = make_account(client, "111111")
    assert washer_1(snapshot_of(client, edge, alice))["door"] == "closed"
    with client.websocket_connect(ws_path(edge), headers=alice.headers) as ws:
        ws.receive_json()  # the cached snapshot
        room.sensors("washer-1", "open")
        assert ws.receive_json()["machine"]["door"] == "open"
    assert washer_1(snapshot_of(client, edge, alice))["door"] == "open", "the change cleared the cache"
    room.sensors("washer-1", "close")
    assert washer_1(snapshot_of(client, edge, alice))["door"] == "closed"


def test_a_claim_shows_as_mine_only_to_its_claimant(client: TestClient, room: Room, edge: FakeEdge) -> None:
    alice, bob, carol = (make_account(client, login) for login in ("111111", "222222", "333333"))
    before = snapshot_of(client, edge, bob)  # cached before the claim
    claimed = room.post("/machines/start", {"machine_type": "washer", "machine_id": 1}, alice.headers)
    assert claimed.status_code == 201, claimed.text
    for _ in range(2):  # built, then from the cache: the same answers
        mine, theirs, carols = (snapshot_of(client, edge, who) for who in (alice, bob, carol))
        assert washer_1(mine)["mine"] is True
        assert washer_1(mine)["in_use_by"] == "you"
        assert washer_1(mine)["claim"] is not None
        assert washer_1(theirs)["mine"] is False
        assert washer_1(theirs)["in_use_by"] == "someone"
        assert washer_1(theirs)["claim"] is None
        assert theirs == carols != before
        assert [m for m in mine["machines"] if m["id"] != "washer-1"] == [
            m for m in theirs["machines"] if m["id"] != "washer-1"
        ]


def test_a_change_is_personal_to_its_claimant_and_shared_by_everyone_else(
    client: TestClient, room: Room, edge: FakeEdge
) -> None:
    alice, bob, carol = (make_account(client, login) for login in ("111111", "222222", "333333"))
    claimed = room.post("/machines/start", {"machine_type": "washer", "machine_id": 1}, alice.headers)
    assert claimed.status_code == 201, claimed.text
    path = ws_path(edge)
    with (
        client.websocket_connect(path, headers=alice.headers) as alice_ws,
        client.websocket_connect(path, headers=bob.headers) as bob_ws,
        client.websocket_connect(path, headers=carol.headers) as carol_ws,
    ):
        for ws in (alice_ws, bob_ws, carol_ws):
            ws.receive_json()  # snapshots
        room.sensors("washer-1", "start")
        to_alice, to_bob, to_carol = (machine_text(ws) for ws in (alice_ws, bob_ws, carol_ws))
        assert to_bob == to_carol
        assert json.loads(to_alice)["machine"]["mine"] is True
        assert json.loads(to_bob)["machine"]["mine"] is False
        assert json.loads(to_bob)["machine"]["state"] == "running"


def machine_text(ws: Any) -> str:
    """The next machine message's text (the claimant may hear of their claim first)."""
    while True:
        text: str = ws.receive_text()
        if json.loads(text)["type"] == "machine":
            return text


def test_a_change_is_serialised_once_for_all_its_clients(client: TestClient, room: Room, edge: FakeEdge) -> None:
    accounts = [make_account(client, f"4{n:05d}") for n in range(5)]
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(client.websocket_connect(ws_path(edge), headers=a.headers)) for a in accounts]
        for ws in sockets:
            ws.receive_json()  # snapshots
        before = realtime.shared_text.serialised
        room.sensors("washer-1", "open")
        texts = [ws.receive_text() for ws in sockets]
        assert realtime.shared_text.serialised == before + 1
    assert len(set(texts)) == 1
    assert json.loads(texts[0])["machine"]["door"] == "open"


def test_a_logged_out_session_cannot_connect_though_it_was_cached(
    client: TestClient, room: Room, edge: FakeEdge
) -> None:
    alice = make_account(client, "111111")
    snapshot_of(client, edge, alice)  # its session is cached now
    out = client.post("/api/v1/auth/logout", json={"refresh_token": alice.refresh_token}, headers=alice.headers)
    assert out.status_code == 204
    with (
        client.websocket_connect(ws_path(edge), headers=alice.headers) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == realtime.CLOSE_UNAUTHORIZED


# --- the pieces, on their own -----------------------------------------------------------------


def test_a_message_is_serialised_once_for_any_number_of_clients(client: TestClient, room: Room) -> None:
    view: MachineView = realtime.views.views_of(state_of(client).engine.connect(), machine_ids=["washer-1"])[0]
    message = machine_message(view)
    shared = realtime.SharedText()
    texts = {id(shared.text(message)) for _ in range(1000)}
    assert shared.serialised == 1
    assert len(texts) == 1
    assert json.loads(shared.text(message)) == personalise(message, None) == personalise(message, 12345)
    room_update = {"type": "room", "room": {"site": "s"}}
    assert shared.text(room_update) == '{"type":"room","room":{"site":"s"}}'
    assert shared.serialised == 2


def test_old_texts_are_let_go() -> None:
    shared = realtime.SharedText(size=2)
    first = {"type": "room", "n": 1}
    for n in range(1, 4):
        shared.text({"type": "room", "n": n})
    shared.text(first)
    assert shared.serialised == 4, "the first message's text was made again"


def claimant_view(user_id: int) -> MachineView:
    from cloud.domain.machines.schemas import MachinePublic

    public = MachinePublic.model_validate(
        {
            "site": "s",
            "room": "r",
            "id": "washer-1",
            "kind": "washer",
            "number": 1,
            "label": None,
            "state": "running",
            "since": None,
            "door": "closed",
            "current_a": 9.5,
            "unknown_since": None,
            "room_online": True,
            "usage": "in_use",
        }
    )
    return MachineView(1, public, claim_user_id=user_id)


def test_only_the_claimant_and_holder_get_a_personal_rendering() -> None:
    message = machine_message(claimant_view(7))
    assert realtime.is_personal(message, 7)
    assert not realtime.is_personal(message, 8)
    assert not realtime.is_personal({"type": "room", "room": {}}, 7)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_miss_wanted_by_many_at_once_is_built_once() -> None:
    cache = ViewCache(ttl_s=60)
    built: list[int] = []

    async def build() -> str:
        built.append(1)
        await asyncio.sleep(0.01)
        return "snapshot"

    async def many() -> list[Any]:
        return await asyncio.gather(*(cache.get_or_build("room", build) for _ in range(100)))

    assert run(many()) == ["snapshot"] * 100
    assert built == [1]
    assert cache.builds == 1
    assert run(cache.get_or_build("room", build)) == "snapshot", "then cached"
    assert built == [1]


def test_who_joins_a_build_that_a_change_overtook_builds_again() -> None:
    """A client that subscribed after the build began may have missed the change: not for it."""
    cache = ViewCache(ttl_s=60)
    answers = iter(["before the change", "after the change"])

    async def build() -> str:
        await asyncio.sleep(0.01)
        return next(answers)

    async def scenario() -> tuple[Any, Any]:
        first = asyncio.create_task(cache.get_or_build("room", build))
        await asyncio.sleep(0)  # its build is under way
        joiner = asyncio.create_task(cache.get_or_build("room", build))
        await asyncio.sleep(0)
        cache.clear()  # a change commits and is delivered
        return await first, await joiner

    assert run(scenario()) == ("before the change", "after the change")
    assert cache.get("room") == "after the change"


def test_a_failed_build_is_not_shared_as_an_answer() -> None:
    cache = ViewCache(ttl_s=60)
    calls: list[int] = []

    async def build() -> str:
        calls.append(1)
        await asyncio.sleep(0.01)
        if len(calls) == 1:
            raise RuntimeError("database gone")
        return "snapshot"

    async def scenario() -> list[Any]:
        return await asyncio.gather(
            cache.get_or_build("room", build), cache.get_or_build("room", build), return_exceptions=True
        )

    failed, second = run(scenario())
    assert isinstance(failed, RuntimeError)
    assert second == "snapshot"


ALICE = Viewer(1, STUDENT, "111111", None, "session-a")


def lookup_of(calls: list[str], answer: Callable[[], Viewer]) -> Callable[[], Any]:
    async def lookup() -> Viewer:
        calls.append("query")
        found = answer()  # what the database says when the query runs
        await asyncio.sleep(0.01)
        return found

    return lookup


def test_a_session_wanted_by_many_at_once_is_looked_up_once() -> None:
    sessions = SessionCache(ttl_s=60)
    calls: list[str] = []

    async def many() -> list[Viewer]:
        lookup = lookup_of(calls, lambda: ALICE)
        return await asyncio.gather(*(sessions.load("session-a", lookup) for _ in range(100)))

    assert run(many()) == [ALICE] * 100
    assert calls == ["query"]
    assert sessions.get("session-a") == ALICE


def test_an_ended_session_is_refused_to_everyone_who_waited() -> None:
    sessions = SessionCache(ttl_s=60)

    def ended() -> Viewer:
        raise Unauthorized("this session has ended; log in again", code="session_ended")

    async def many() -> list[Any]:
        lookup = lookup_of([], ended)
        return await asyncio.gather(*(sessions.load("session-a", lookup) for _ in range(3)), return_exceptions=True)

    assert all(isinstance(result, Unauthorized) for result in run(many()))
    assert sessions.get("session-a") is None


def test_a_session_forgotten_while_it_is_looked_up_is_not_remembered() -> None:
    """Who asked before the logout raced it; who asks after looks again, and is refused."""
    sessions = SessionCache(ttl_s=60)
    calls: list[str] = []
    live = [True]

    def answer() -> Viewer:
        if not live[0]:
            raise Unauthorized("this session has ended; log in again", code="session_ended")
        return ALICE

    async def scenario() -> list[Any]:
        lookup = lookup_of(calls, answer)
        first = asyncio.create_task(sessions.load("session-a", lookup))
        await asyncio.sleep(0)
        live[0] = False
        sessions.forget("session-a")  # logged out meanwhile
        later = asyncio.create_task(sessions.load("session-a", lookup))
        return await asyncio.gather(first, later, return_exceptions=True)

    first, later = run(scenario())
    assert first == ALICE
    assert isinstance(later, Unauthorized)
    assert calls == ["query", "query"]
    assert sessions.get("session-a") is None
