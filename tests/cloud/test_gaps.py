"""Gaps in a room's event sequence: noticed, asked for once, re-asked, closed by the replay;
a wiped edge starts a new epoch. On SQLite and PostgreSQL (``db_client``); replay requests are
caught by a recorder standing in for the cloud's MQTT connection (the broker test is in
test_gaps_broker.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from cloud.domain.ingest import gaps
from cloud.domain.ingest.apply import Applied
from cloud.platform.storage import repository as repo
from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.migrate import upgrade_database
from cloud.platform.storage.tables import edge_events, machines, room_sequences, rooms
from cloud.processes.timers import fire_due
from kywash.clock import FakeClock, to_datetime
from kywash.contract import EventType, MachineState, ReplayRequest, decode_message
from tests.cloud.fake_edge import FakeEdge

Feed = Callable[..., list[Any]]


class BrokerRecorder:
    """Stands in for the MQTT connection: keeps what the cloud publishes after a commit."""

    connected = True

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, bool]] = []

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        self.published.append((topic, payload, retain))

    def replays(self) -> list[tuple[str, ReplayRequest]]:
        found = []
        for topic, payload, retain in self.published:
            if topic.endswith("/replay"):
                assert not retain
                _, request = decode_message(topic, payload)
                assert isinstance(request, ReplayRequest)
                found.append((topic, request))
        return found

    async def close(self) -> None:
        pass


@pytest.fixture
def broker(db_client: TestClient) -> Iterator[BrokerRecorder]:
    state: Any = db_client.app.state.cloud  # type: ignore[attr-defined]
    recorder = BrokerRecorder()
    state.source = recorder
    yield recorder
    state.source = None


def state_of(client: TestClient) -> Any:
    return client.app.state.cloud  # type: ignore[attr-defined]


def sequence(client: TestClient, edge: FakeEdge) -> tuple[gaps.RoomSequence, list[tuple[int, int]]]:
    state = state_of(client)
    with state.engine.connect() as conn:
        room = repo.find_room(conn, edge.site, edge.room)
        assert room is not None
        seq = gaps.get_sequence(conn, room.id)
        assert seq is not None
        return seq, gaps.open_gaps(conn, seq)


def fire(client: TestClient) -> int:
    return fire_due(state_of(client).transactions, state_of(client).ingest.metrics).replay_requests


def started(edge: FakeEdge, seq: int, machine: str = "washer-1") -> tuple[str, bytes]:
    return edge.event(machine, EventType.CYCLE_STARTED, MachineState.RUNNING, seq=seq)


# --- pure bookkeeping ---------------------------------------------------------------------


def test_advance_walks_the_contiguous_run_only() -> None:
    assert gaps.advance(0, [1, 2, 3, 5]) == 3
    assert gaps.advance(4, [6, 7]) == 4
    assert gaps.advance(4, []) == 4
    assert gaps.advance(4, [5, 6, 7, 8]) == 8


def test_missing_ranges_and_the_range_one_request_asks_for() -> None:
    assert gaps.missing_ranges(0, [1, 2, 3]) == []
    assert gaps.missing_ranges(2, [5, 6, 9, 10, 12]) == [(3, 4), (7, 8), (11, 11)]
    assert gaps.missing_ranges(2, [5, 6, 9, 10, 12], limit=2) == [(3, 4), (7, 8)]
    assert gaps.replay_range([(3, 4), (7, 8), (11, 11)]) == (3, 11)
    assert gaps.replay_range([]) is None


def test_retries_back_off_to_the_cap() -> None:
    assert [gaps.retry_delay_s(n, 60, 3600) for n in (1, 2, 3, 4, 5, 6, 7, 8)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert gaps.retry_delay_s(3, 60, 10) == 60  # a cap below the first retry is the first retry


# --- in the database ----------------------------------------------------------------------


def test_out_of_order_events_within_the_window_ask_nothing(
    db_client: TestClient, db_feed: Feed, broker: BrokerRecorder, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    db_feed(edge.info(), started(edge, 1), started(edge, 2), started(edge, 4, "washer-2"))
    seq, open_ = sequence(db_client, edge)
    assert (seq.contiguous_seq, seq.max_seq, open_) == (2, 4, [(3, 3)])
    assert seq.gap_since is not None
    fake_clock.advance(3)
    assert fire(db_client) == 0  # not yet: it may just be late
    db_feed(started(edge, 3, "dryer-1"))
    seq, open_ = sequence(db_client, edge)
    assert (seq.contiguous_seq, seq.max_seq, open_, seq.gap_since) == (4, 4, [], None)
    fake_clock.advance(120)
    assert fire(db_client) == 0
    assert broker.replays() == []


def test_a_real_gap_asks_once_then_again_after_the_retry_and_closes_with_the_replay(
    db_client: TestClient, db_feed: Feed, broker: BrokerRecorder, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    state = state_of(db_client)
    db_feed(edge.info(), started(edge, 1), started(edge, 5, "washer-2"), started(edge, 7, "dryer-1"))
    assert sequence(db_client, edge)[1] == [(2, 4), (6, 6)]

    fake_clock.advance(state.settings.replay_after_s)
    assert fire(db_client) == 1
    assert fire(db_client) == 0  # fired once: the stored deadline moved on (another replica would see that)
    (topic, request), *rest = broker.replays()
    assert rest == []
    assert topic == f"kywash/v1/{edge.site}/{edge.room}/replay"
    assert (request.from_seq, request.to_seq, request.reason) == (2, 6, "gap")
    seq, _ = sequence(db_client, edge)
    assert seq.last_replay_at is not None and seq.replay_requests == 1
    assert state.ingest.metrics.replay_request_count() == 1

    fake_clock.advance(state.settings.replay_retry_s - 1)
    assert fire(db_client) == 0
    db_feed(*(started(edge, n) for n in (2, 3, 4)))  # part of the replay arrives
    assert sequence(db_client, edge)[1] == [(6, 6)]
    fake_clock.advance(1)
    assert fire(db_client) == 1  # still open after the retry: asked again, for what is left
    assert [(r.from_seq, r.to_seq) for _, r in broker.replays()] == [(2, 6), (6, 6)]

    db_feed(started(edge, 6))
    seq, open_ = sequence(db_client, edge)
    assert (seq.contiguous_seq, open_, seq.gap_since, seq.replay_next_at) == (7, [], None, None)
    fake_clock.advance(3600)
    assert fire(db_client) == 0
    assert len(broker.replays()) == 2
    assert state.ingest.metrics.replay_request_count() == 2


def test_replayed_events_are_idempotent_and_a_new_gap_waits_its_own_window(
    db_client: TestClient, db_feed: Feed, broker: BrokerRecorder, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    db_feed(edge.info(), started(edge, 1), started(edge, 3))
    fake_clock.advance(10)
    assert fire(db_client) == 1
    applied = db_feed(started(edge, 2), started(edge, 2), started(edge, 3))
    assert [a.kind for a in applied] == ["event", "duplicate", "duplicate"]
    db_feed(started(edge, 4), started(edge, 6))  # a new gap, later
    fake_clock.advance(4)
    assert fire(db_client) == 0
    fake_clock.advance(1)
    assert fire(db_client) == 1
    assert [(r.from_seq, r.to_seq) for _, r in broker.replays()] == [(2, 2), (5, 5)]


def test_gaps_are_per_room(
    db_client: TestClient, db_feed: Feed, broker: BrokerRecorder, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    other = FakeEdge(site=edge.site, room="r2", boot_id="boot-r2")
    db_feed(edge.info(), other.info(), started(edge, 1), started(other, 1), started(other, 3), started(edge, 2))
    assert sequence(db_client, edge)[1] == []
    assert sequence(db_client, other)[1] == [(2, 2)]
    fake_clock.advance(5)
    assert fire(db_client) == 1
    ((topic, request),) = broker.replays()
    assert topic.endswith(f"/{edge.site}/r2/replay") and (request.from_seq, request.to_seq) == (2, 2)


def test_events_sent_before_the_cloud_first_subscribed_are_asked_for(
    db_client: TestClient, db_feed: Feed, broker: BrokerRecorder, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    # The cloud subscribes to machine topics only after room info and status: an edge's first
    # events can go by before that. The sequence counts from 0, so they are a gap to replay.
    db_feed(edge.info(), started(edge, 3), started(edge, 4))
    seq, open_ = sequence(db_client, edge)
    assert (seq.base_seq, seq.contiguous_seq, seq.max_seq, open_) == (0, 0, 4, [(1, 2)])
    fake_clock.advance(5)
    assert fire(db_client) == 1
    ((_, request),) = broker.replays()
    assert (request.from_seq, request.to_seq) == (1, 2)
    db_feed(started(edge, 1), started(edge, 2))
    seq, open_ = sequence(db_client, edge)
    assert (seq.contiguous_seq, open_, seq.gap_since) == (4, [], None)


def test_a_wiped_edge_starts_a_new_epoch_instead_of_being_dropped(
    db_client: TestClient,
    db_feed: Feed,
    broker: BrokerRecorder,
    edge: FakeEdge,
    fake_clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = state_of(db_client)
    db_feed(edge.info(), *(started(edge, n, "washer-2") for n in (1, 2, 3)))
    db_feed(edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, seq=4))
    db_feed(edge.event("washer-1", EventType.CYCLE_FINISHED, MachineState.FINISHED, seq=5))

    wiped = FakeEdge(site=edge.site, boot_id="boot-new-sd-card")
    with caplog.at_level("WARNING", logger="cloud.domain.ingest.gaps"):
        (first,) = db_feed(wiped.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, seq=1))
    assert isinstance(first, Applied) and first.kind == "event" and first.seq_reset
    assert "sequence was reset" in caplog.text
    assert state.ingest.metrics.seq_reset_count() == 1
    seq, open_ = sequence(db_client, edge)
    assert (seq.epoch, seq.contiguous_seq, seq.seq_resets, seq.last_reset_boot_id) == (1, 1, 1, "boot-new-sd-card")
    with state.engine.connect() as conn:
        shown = conn.execute(select(machines.c.state, machines.c.last_seq).where(machines.c.machine_id == "washer-1"))
        assert [tuple(row) for row in shown] == [("running", 1)]  # the new run moves the machine

    assert db_feed(wiped.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, seq=1))[0].kind == "duplicate"
    assert db_feed(wiped.event("washer-2", EventType.CYCLE_STARTED, MachineState.RUNNING, seq=2))[0].kind == "event"
    late = db_feed(edge.event("washer-1", EventType.CYCLE_FINISHED, MachineState.FINISHED, seq=6))[0]
    assert late.kind == "old_epoch" and late.transitions == ()  # the old run's straggler changes nothing
    seq, open_ = sequence(db_client, edge)
    assert (seq.epoch, seq.contiguous_seq, seq.max_seq, open_) == (1, 2, 2, [])
    assert state.ingest.metrics.seq_reset_count() == 1
    assert state.ingest.metrics.accepted("old_epoch") == 1
    fake_clock.advance(100)
    assert fire(db_client) == 0


def test_two_replicas_firing_the_same_deadline_publish_once(
    db_client: TestClient, db_feed: Feed, broker: BrokerRecorder, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    state = state_of(db_client)
    db_feed(edge.info(), started(edge, 1), started(edge, 3))
    fake_clock.advance(5)
    with state.engine.connect() as conn:
        (room_id,) = gaps.due_replays(conn, to_datetime(fake_clock.now()), state.settings.replay_after_s)
    assert state.transactions.run(lambda tx: gaps.request_replay(tx, room_id)) is True
    assert state.transactions.run(lambda tx: gaps.request_replay(tx, room_id)) is False  # the second replica's try
    assert len(broker.replays()) == 1
    assert broker.replays()[0][1].from_seq == 2


def test_a_gap_the_edge_cannot_fill_is_asked_for_less_and_less_often(
    db_client: TestClient, db_feed: Feed, broker: BrokerRecorder, edge: FakeEdge, fake_clock: FakeClock
) -> None:
    db_feed(edge.info(), started(edge, 1), started(edge, 3))
    fake_clock.advance(5)
    asked_at = [0.0] if fire(db_client) == 1 else []
    elapsed = 0.0
    while elapsed < 2 * 3600 + 1000:
        fake_clock.advance(60)
        elapsed += 60
        if fire(db_client):
            asked_at.append(elapsed)
    gaps_between = [b - a for a, b in itertools.pairwise(asked_at)]
    assert gaps_between[:6] == [60, 120, 240, 480, 960, 1920]
    assert all(gap == 3600 for gap in gaps_between[6:]) and len(gaps_between) >= 7
    assert {(r.from_seq, r.to_seq) for _, r in broker.replays()} == {(2, 2)}
    db_feed(started(edge, 2))  # filled at last: a later gap starts again at the first retry
    seq, _ = sequence(db_client, edge)
    assert (seq.gap_requests, seq.replay_next_at, seq.replay_requests) == (0, None, len(asked_at))


def test_the_migration_starts_rooms_that_already_have_events_from_what_is_stored(database_url: str) -> None:
    upgrade_database(database_url, "0002")
    engine = make_engine(database_url)
    now = to_datetime(FakeClock().now())
    try:
        with engine.begin() as conn:  # as a 0002 database holds them (no epoch column yet)
            for name, seqs in (("whole", (1, 2, 3)), ("holed", (1, 2, 5))):
                room_id = conn.execute(
                    insert(rooms).values(site="s", room=name, registered_at=now).returning(rooms.c.id)
                ).scalar_one()
                for seq in seqs:
                    values = {"room_id": room_id, "seq": seq, "boot_id": "b", "machine_id": "washer-1"}
                    conn.execute(
                        insert(edge_events).values(**values, type="cycle_started", ts=now, payload={}, received_at=now)
                    )
        upgrade_database(database_url)
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    rooms.c.room, room_sequences.c.base_seq, room_sequences.c.contiguous_seq, room_sequences.c.max_seq
                )
                .join(rooms, rooms.c.id == room_sequences.c.room_id)
                .order_by(rooms.c.room)
            )
            assert [tuple(row) for row in rows] == [("holed", 0, 0, 5), ("whole", 0, 3, 3)]
            epochs = conn.execute(select(edge_events.c.epoch).distinct()).scalars().all()
            assert epochs == [0]
            (holed_id,) = conn.execute(select(rooms.c.id).where(rooms.c.room == "holed")).scalars()
            holed = gaps.get_sequence(conn, holed_id)
            assert holed is not None and gaps.open_gaps(conn, holed) == [(3, 4)]
    finally:
        engine.dispose()
