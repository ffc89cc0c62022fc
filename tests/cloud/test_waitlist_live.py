"""Issue 15: a hold must reach its student's page live, whichever path made it.

The page keeps the last machine message it hears of each machine, so a hold is shown only if
the last message its student hears of the machine carries ``reserved_for_me``. Each path that
gives a hold is followed here on the student's own WebSocket: a machine freed by its door,
by a claim cancelled or lapsing, a hold passed on by the timer, a burst of events applied in
one batch, a page that (re)connects after the hold was given, and a transaction on another
thread whose older view of the machine must not be sent after the hold's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from cloud.domain.notifications.send import notify
from cloud.platform.settings import CloudSettings
from cloud.platform.storage import repository as repo
from cloud.platform.unit_of_work import Tx
from kywash.clock import FakeClock
from kywash.contract import Door, EventType, MachineState
from tests.cloud.accounts_support import Account, make_account
from tests.cloud.fake_edge import FakeEdge
from tests.cloud.laundry_support import Feed, Room, open_room

WASHERS = {"machine_type": "washer"}
DRAINED = "test_drained"


@pytest.fixture
def room(db_client: TestClient, db_feed: Feed, edge: FakeEdge, fake_clock: FakeClock) -> Room:
    """On SQLite and on PostgreSQL."""
    return open_room(db_client, db_feed, edge, fake_clock)


def heard(room: Room, account: Account, socket: WebSocketTestSession) -> list[dict[str, Any]]:
    """What ``socket`` heard up to a notification sent now (the hub keeps each client's order)."""
    room.client.app.state.cloud.transactions.run(  # type: ignore[attr-defined]
        lambda tx: notify(tx, account.id, DRAINED, "drained", "")
    )
    messages: list[dict[str, Any]] = []
    for _ in range(500):
        message: dict[str, Any] = socket.receive_json()
        if message["type"] == "notification" and message["notification"]["type"] == DRAINED:
            return messages
        messages.append(message)
    raise AssertionError(f"{account.login} never heard the end of the step")


def last_view(messages: list[dict[str, Any]], machine_id: str) -> dict[str, Any] | None:
    """The machine as the page shows it after ``messages``: the last machine message about it wins."""
    views = [m["machine"] for m in messages if m["type"] == "machine" and m["machine"]["id"] == machine_id]
    return views[-1] if views else None


def settings(room: Room) -> CloudSettings:
    found: CloudSettings = room.client.app.state.cloud.settings  # type: ignore[attr-defined]
    return found


def held_for_me(view: dict[str, Any] | None) -> bool:
    return view is not None and view["usage"] == "reserved" and view["reserved_for_me"] and bool(view["hold_until"])


def both_washers_running(room: Room) -> None:
    for number in (1, 2):
        room.sensors(f"washer-{number}", "start")


def free_washer_1(room: Room) -> None:
    room.sensors("washer-1", "finish")
    room.sensors("washer-1", "open")


@pytest.fixture
def carol(room: Room) -> Iterator[tuple[Account, WebSocketTestSession]]:
    """Carol waits for a washer (both are running) with her page open."""
    both_washers_running(room)
    account = make_account(room.client, "100003")
    assert room.post("/waitlist/join", WASHERS, account.headers).status_code == 201
    with room.client.websocket_connect("/api/ws", headers=account.headers) as socket:
        heard(room, account, socket)
        yield account, socket


def test_a_washer_freed_by_its_door_is_shown_held_on_the_heads_page(
    room: Room, carol: tuple[Account, WebSocketTestSession]
) -> None:
    account, socket = carol
    free_washer_1(room)
    messages = heard(room, account, socket)
    assert held_for_me(last_view(messages, "washer-1"))
    assert any(m["type"] == "reservation_offered" for m in messages)


def test_a_burst_applied_in_one_batch_shows_the_hold_made_after_it(
    room: Room, edge: FakeEdge, carol: tuple[Account, WebSocketTestSession]
) -> None:
    """The hold is made by work deferred to the end of the batch (``tx.once``), before its
    machines are rendered: the batch's one message about the machine carries it."""
    account, socket = carol
    ingest = room.client.app.state.cloud.ingest  # type: ignore[attr-defined]
    burst = [
        edge.event("washer-1", EventType.CYCLE_FINISHED, MachineState.FINISHED, minutes=40),
        edge.event("washer-1", EventType.DOOR_OPENED, MachineState.DOOR_OPEN, minutes=41, door=Door.OPEN),
    ]
    assert room.client.portal is not None
    room.client.portal.call(ingest.handle_batch, burst)
    assert held_for_me(last_view(heard(room, account, socket), "washer-1"))


def test_a_hold_passed_on_by_the_timer_reaches_the_next_students_page(room: Room) -> None:
    both_washers_running(room)
    carol, dave = make_account(room.client, "100003"), make_account(room.client, "100004")
    room.post("/waitlist/join", WASHERS, carol.headers)
    room.post("/waitlist/join", WASHERS, dave.headers)
    free_washer_1(room)
    with (
        room.client.websocket_connect("/api/ws", headers=carol.headers) as carols,
        room.client.websocket_connect("/api/ws", headers=dave.headers) as daves,
    ):
        heard(room, carol, carols)
        heard(room, dave, daves)
        assert room.fire(minutes=settings(room).hold_minutes + 0.1).expired_holds == 1
        to_dave = heard(room, dave, daves)
        assert held_for_me(last_view(to_dave, "washer-1"))
        assert any(m["type"] == "reservation_offered" for m in to_dave)
        gone = last_view(heard(room, carol, carols), "washer-1")
        assert gone is not None and gone["reserved_for_me"] is False and gone["usage"] == "reserved"


@pytest.mark.parametrize("how", ["cancelled", "lapsed"])
def test_a_washer_freed_by_a_claim_that_ends_unused_is_shown_held(room: Room, how: str) -> None:
    alice, carol = make_account(room.client, "100001"), make_account(room.client, "100003")
    room.sensors("washer-2", "start")
    washer_1 = {"machine_type": "washer", "machine_id": 1}
    assert room.post("/machines/start", washer_1, alice.headers).status_code == 201
    room.post("/waitlist/join", WASHERS, carol.headers)
    with room.client.websocket_connect("/api/ws", headers=carol.headers) as socket:
        heard(room, carol, socket)
        if how == "cancelled":
            assert room.post("/machines/cancel", washer_1, alice.headers).status_code == 200
        else:
            assert room.fire(minutes=settings(room).claim_confirm_minutes + 0.1).expired_claims == 1
        assert held_for_me(last_view(heard(room, carol, socket), "washer-1"))


def test_a_page_that_connects_after_the_hold_was_given_shows_it(room: Room) -> None:
    """The snapshot (from the view cache, warmed before the hold) and the machine list agree."""
    both_washers_running(room)
    carol = make_account(room.client, "100003")
    room.post("/waitlist/join", WASHERS, carol.headers)
    listing = f"/api/v1/machines/?site={room.edge.site}&room={room.edge.room}"
    room.client.get(listing)
    with room.client.websocket_connect("/api/ws", headers=carol.headers) as socket:
        socket.receive_json()  # the cache holds the room's views without a hold now
    free_washer_1(room)
    washers = room.client.get(listing, headers=carol.headers).json()["washers"]
    assert held_for_me(next(m for m in washers if m["id"] == "washer-1"))
    with room.client.websocket_connect("/api/ws", headers=carol.headers) as socket:
        snapshot = socket.receive_json()
        assert snapshot["type"] == "snapshot"
        assert held_for_me(next(m for m in snapshot["machines"] if m["id"] == "washer-1"))


class HeldWaker:
    """The webhook sender, except that a commit's wake-up can be held: the thread that
    delivers that transaction stops there, after its commit and before its messages leave,
    as a thread the scheduler sets aside would (or, on PostgreSQL, one whose commit waits)."""

    def __init__(self, sender: Any) -> None:
        self.sender = sender
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.holding = False

    def wake(self) -> None:
        if self.holding:
            self.holding = False
            self.arrived.set()
            assert self.release.wait(10), "the test never let the held delivery go"
        self.sender.wake()


def test_an_older_view_from_another_thread_is_not_sent_after_the_hold(
    room: Room, carol: tuple[Account, WebSocketTestSession]
) -> None:
    """Issue 15's cause. A transaction on another thread (a timer, a route) read washer-1 while
    it was still "finished"; before its messages left, ingest freed washer-1 and held it for
    carol. Its older view used to be sent after the hold's, so carol's page showed the washer
    as finished, not held for her, until the washer next changed."""
    account, socket = carol
    room.sensors("washer-1", "finish")
    cloud = room.client.app.state.cloud  # type: ignore[attr-defined]
    with cloud.engine.connect() as conn:
        place = repo.find_room(conn, room.edge.site, room.edge.room)
        assert place is not None
        found = repo.find_machine(conn, place.id, "washer-1")
        assert found is not None
        washer_1 = found.id
    waker = HeldWaker(cloud.webhooks)
    cloud.webhooks, waker.holding = waker, True

    def touch_washer_1(tx: Tx) -> None:  # e.g. a fault report on it, which also queues a webhook
        tx.changes.machine(washer_1)
        tx.changes.webhooks += 1

    older = threading.Thread(target=cloud.transactions.run, args=(touch_washer_1,))
    freeing = threading.Thread(target=room.sensors, args=("washer-1", "open"))
    try:
        older.start()
        assert waker.arrived.wait(10)
        freeing.start()
        freeing.join(timeout=1.0)  # without the delivery order it is done by now; with it, it waits
        waker.release.set()
        older.join(10)
        freeing.join(10)
    finally:
        waker.release.set()
        cloud.webhooks = waker.sender
    assert held_for_me(last_view(heard(room, account, socket), "washer-1"))
