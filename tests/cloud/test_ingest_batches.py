"""Batched ingest: what queued up is applied in one transaction, in order, each changed machine
rendered and each room's summary built once; a message that fails is refused alone; a lone
message is applied at once; nothing is acknowledged before its batch commits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from cloud.api.metrics import new_registry
from cloud.domain.accounts.session_cache import SessionCache
from cloud.domain.dashboards.summary import SummaryBook
from cloud.domain.ingest.apply import TELEMETRY_STORE_EVERY_S
from cloud.domain.machines.cache import ViewCache
from cloud.platform.hub import Audience, Hub
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.migrate import upgrade_database
from cloud.platform.unit_of_work import Transactions
from cloud.processes.dashboards import publish_pending_summaries
from cloud.processes.delivery import LiveDelivery
from cloud.processes.ingest import Ingest
from cloud.processes.ingest_metrics import IngestMetrics
from cloud.processes.live_messages import personalise
from kywash.clock import FakeClock
from kywash.contract import Door, EventType, MachineState
from tests.cloud.fake_edge import FakeEdge, Message


class RecordingHub(Hub):
    """The hub, keeping what it was given to send (as the clients of every room would get it)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any], audience: Audience) -> None:
        self.sent.append(personalise(message, None))


@dataclass
class BrokerRecorder:
    """Stands in for the MQTT connection: keeps what would be published."""

    published: list[tuple[str, bytes, bool]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        self.published.append((topic, payload, retain))


class QueuedSource:
    """Messages that have all arrived: ``__anext__`` takes one, ``ready`` what queued behind it."""

    def __init__(self, messages: Iterable[Message]) -> None:
        self.queue = list(messages)
        self.handed: list[str] = []
        self.batches: list[list[str]] = []
        self.acknowledged: list[str] = []
        self.forgotten: list[str] = []

    def __aiter__(self) -> QueuedSource:
        return self

    async def __anext__(self) -> Message:
        if not self.queue:
            raise StopAsyncIteration
        topic, payload = self.queue.pop(0)
        self.handed = [topic]
        return topic, payload

    def ready(self, limit: int) -> list[Message]:
        taken, self.queue = self.queue[:limit], self.queue[limit:]
        self.handed += [topic for topic, _ in taken]
        self.batches.append(list(self.handed))
        return taken

    def processed(self) -> None:
        self.acknowledged += self.handed
        self.handed = []

    def forget(self) -> None:
        self.forgotten += self.handed
        self.handed = []


@dataclass
class Cloud:
    ingest: Ingest
    engine: Engine
    hub: RecordingHub
    broker: BrokerRecorder
    clock: FakeClock

    def run(self, source: QueuedSource) -> None:
        asyncio.run(self.ingest.run(source))

    def batch(self, messages: list[Message]) -> list[Any]:
        return asyncio.run(self.ingest.handle_batch(messages))

    def heard(self) -> list[dict[str, Any]]:
        heard, self.hub.sent = self.hub.sent, []
        return heard


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    upgrade_database(url)
    settings = CloudSettings(database_url=url, ingest_enabled=False, ingest_batch_max=3)
    hub, broker = RecordingHub(), BrokerRecorder()
    delivery = LiveDelivery(hub, broker, None, ViewCache(), SessionCache(), summaries=SummaryBook())
    engine = make_engine(url)
    clock = FakeClock()
    ingest = Ingest(Transactions(engine, clock, settings, lambda: delivery), IngestMetrics(new_registry()))
    ingest.retry_delays_s = ()
    built = Cloud(ingest, engine, hub, broker, clock)
    yield built
    ingest.close()


def rooms(cloud: Cloud, *names: str) -> list[FakeEdge]:
    edges = [FakeEdge(site="north", room=name) for name in names]
    cloud.batch([message for edge in edges for message in (edge.info(), edge.status())])
    cloud.heard()
    cloud.broker.published.clear()
    return edges


def door(edge: FakeEdge, machine: str, opened: bool, minute: float) -> Message:
    kind = EventType.DOOR_OPENED if opened else EventType.DOOR_CLOSED
    return edge.event(machine, kind, MachineState.IDLE, door=Door.OPEN if opened else Door.CLOSED, minutes=minute)


def commits(engine: Engine) -> list[int]:
    counted: list[int] = []
    event.listen(engine, "commit", lambda conn: counted.append(1))
    return counted


def statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, statement, *rest: seen.append(statement))
    return seen


def test_a_burst_is_one_transaction_and_each_changed_machine_is_rendered_once(cloud: Cloud) -> None:
    r1, r2 = rooms(cloud, "r1", "r2")
    burst = [
        door(r1, "washer-1", True, 1),
        door(r2, "dryer-1", True, 1),
        door(r1, "washer-1", False, 2),
        door(r1, "washer-2", True, 2),
        door(r2, "dryer-1", False, 3),
        door(r1, "washer-1", True, 3),
    ]
    counted = commits(cloud.engine)
    outcomes = cloud.batch(burst)
    assert [o.kind for o in outcomes] == ["event"] * 6
    assert len(counted) == 1 and cloud.ingest.metrics.batch_count() == 2  # the rooms' batch, then the burst
    machines = [m["machine"] for m in cloud.heard() if m["type"] == "machine"]
    shown = {(m["room"], m["id"]): m["door"] for m in machines}
    assert len(machines) == 3, "one message per changed machine, not one per event"
    assert shown == {("r1", "washer-1"): "open", ("r1", "washer-2"): "open", ("r2", "dryer-1"): "closed"}
    summaries = [topic for topic, _, _ in cloud.broker.published if topic.endswith("/summary")]
    assert sorted(summaries) == ["kywash/v1/north/r1/summary", "kywash/v1/north/r2/summary"]


def test_a_batch_reads_each_room_and_its_machines_once(cloud: Cloud) -> None:
    (r1,) = rooms(cloud, "r1")
    seen = statements(cloud.engine)
    cloud.batch(
        [
            door(r1, machine, opened, 1 + n)
            for n, opened in enumerate((True, False))
            for machine in ("washer-1", "washer-2", "dryer-1")
        ]
    )
    room_reads = [s for s in seen if s.lstrip().startswith("SELECT") and "FROM rooms" in s and "JOIN" not in s]
    machine_reads = [
        s for s in seen if s.lstrip().startswith("SELECT machines.id, machines.room_id, machines.machine_id")
    ]
    room_writes = [s for s in seen if s.lstrip().startswith("UPDATE rooms")]
    assert len(room_reads) <= 2, room_reads  # ingest's lookup, and the summary's
    assert len(machine_reads) <= 3 + 3, machine_reads  # each machine, and again after its first event moved it
    assert len(room_writes) == 1, "last_seen is stored once per batch"


def test_a_message_that_fails_is_refused_alone_and_the_rest_of_its_batch_commits(cloud: Cloud) -> None:
    (r1,) = rooms(cloud, "r1")
    burst = [door(r1, "washer-1", True, 1), door(r1, "no-such-machine", True, 1), door(r1, "washer-2", True, 2)]
    outcomes = cloud.batch(burst)
    assert [o.kind if o else None for o in outcomes] == ["event", None, "event"]
    assert cloud.ingest.metrics.rejections("unknown_machine") == 1
    shown = {m["machine"]["id"]: m["machine"]["door"] for m in cloud.heard() if m["type"] == "machine"}
    assert shown == {"washer-1": "open", "washer-2": "open"}


def test_run_applies_what_queued_in_batches_up_to_the_bound_and_acknowledges_after_each(cloud: Cloud) -> None:
    (r1,) = rooms(cloud, "r1")
    queued = [door(r1, "washer-1", n % 2 == 0, 1 + n) for n in range(7)]
    source = QueuedSource(queued)
    cloud.run(source)
    assert [len(batch) for batch in source.batches] == [3, 3, 1]  # ingest_batch_max is 3
    assert source.acknowledged == [topic for topic, _ in queued]
    (last,) = [m["machine"] for m in cloud.heard() if m["type"] == "machine"][-1:]
    assert last["door"] == "open"  # the seventh event (n=6) opened it: order kept


def test_a_lone_message_is_applied_at_once_in_a_transaction_of_its_own(cloud: Cloud) -> None:
    (r1,) = rooms(cloud, "r1")
    counted = commits(cloud.engine)
    source = QueuedSource([door(r1, "dryer-1", True, 1)])
    cloud.run(source)
    assert len(counted) == 1 and source.batches == [[source.acknowledged[0]]]
    heard = [m["machine"] for m in cloud.heard() if m["type"] == "machine"]
    assert [(m["id"], m["door"]) for m in heard] == [("dryer-1", "open")]


def test_a_batch_the_database_could_not_take_is_left_unacknowledged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'cloud.db'}"  # every connection fails
    settings = CloudSettings(database_url=url, ingest_enabled=False)
    ingest = Ingest(Transactions(make_engine(url), FakeClock(), settings), IngestMetrics(new_registry()))
    ingest.retry_delays_s = ()
    edge = FakeEdge(site="north")
    source = QueuedSource([edge.info(), edge.status(), edge.event("washer-1")])
    asyncio.run(ingest.run(source))
    ingest.close()
    assert source.acknowledged == []
    assert sorted(source.forgotten) == sorted(
        topic for topic, _ in [edge.info(), edge.status(), edge.event("washer-1")]
    )
    assert ingest.metrics.rejections("database_unavailable") == 3


def test_summaries_of_a_batch_are_what_the_room_shows_after_it(cloud: Cloud) -> None:
    (r1,) = rooms(cloud, "r1")
    cloud.batch(
        [r1.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING, minutes=1), door(r1, "washer-2", True, 1)]
    )
    (summary,) = [json.loads(p) for topic, p, _ in cloud.broker.published if topic.endswith("/summary")]
    assert summary["washers"]["free"] == 1 and summary["washers"]["total"] == 2


def currents(cloud: Cloud) -> list[tuple[str, float]]:
    return [(m["machine"]["id"], m["machine"]["current_a"]) for m in cloud.heard() if m["type"] == "machine"]


def known(cloud: Cloud, edge: FakeEdge) -> None:
    """Each machine's retained state (the current is shown once the state is known)."""
    cloud.batch([edge.state(machine.id, seq=0) for machine in edge.machines])
    cloud.heard()
    cloud.clock.advance(TELEMETRY_STORE_EVERY_S)  # a state stores the current too: telemetry waits as long


def test_telemetry_in_a_batch_is_stored_once_per_machine_latest_wins(cloud: Cloud) -> None:
    (r1,) = rooms(cloud, "r1")
    known(cloud, r1)
    counted = commits(cloud.engine)
    cloud.batch([r1.telemetry("washer-1", 4.0), r1.telemetry("washer-2", 9.1), r1.telemetry("washer-1", 6.5)])
    assert len(counted) == 1
    assert sorted(currents(cloud)) == [("washer-1", 6.5), ("washer-2", 9.1)]
    metrics = cloud.ingest.metrics
    assert metrics.accepted("telemetry") == 2 and metrics.accepted("telemetry_coalesced") == 1


def test_telemetry_is_stored_at_most_every_few_seconds_and_told_only_when_it_moved(cloud: Cloud) -> None:
    (r1,) = rooms(cloud, "r1")
    known(cloud, r1)
    cloud.batch([r1.telemetry("dryer-1", 12.0)])
    assert currents(cloud) == [("dryer-1", 12.0)]
    cloud.batch([r1.telemetry("dryer-1", 3.0)])  # a moment later: not stored
    assert currents(cloud) == [] and cloud.ingest.metrics.accepted("telemetry_coalesced") == 1
    cloud.clock.advance(TELEMETRY_STORE_EVERY_S)
    cloud.batch([r1.telemetry("dryer-1", 12.04)])  # stored, but shown as before (12.0 A): nobody is told
    assert currents(cloud) == []
    cloud.clock.advance(TELEMETRY_STORE_EVERY_S)
    cloud.batch([r1.telemetry("dryer-1", 3.0)])
    assert currents(cloud) == [("dryer-1", 3.0)]
    assert cloud.ingest.metrics.accepted("telemetry") == 3


class Ticks:
    """A monotonic clock that moves only when told (the summaries' wait)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_busy_rooms_summary_is_built_at_most_every_interval_and_its_last_change_still_goes_out(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    upgrade_database(url)
    settings = CloudSettings(database_url=url, ingest_enabled=False)
    ticks, broker = Ticks(), BrokerRecorder()
    book = SummaryBook(every_s=1.0, monotonic=ticks)
    delivery = LiveDelivery(RecordingHub(), broker, None, ViewCache(), SessionCache(), summaries=book)
    clock = FakeClock()
    transactions = Transactions(make_engine(url), clock, settings, lambda: delivery)
    ingest = Ingest(transactions, IngestMetrics(new_registry()), lambda: broker, book)
    edge = FakeEdge(site="north")

    def summaries() -> list[dict[str, Any]]:
        found = [json.loads(p) for topic, p, _ in broker.published if topic.endswith("/summary")]
        broker.published.clear()
        return found

    asyncio.run(ingest.handle_batch([edge.info(), edge.status()]))
    assert [s["washers"]["free"] for s in summaries()] == [0]  # built at once: the room was quiet
    ticks.now += 0.3
    asyncio.run(ingest.handle_batch([edge.state("washer-1", seq=0)]))
    ticks.now += 0.3
    asyncio.run(ingest.handle_batch([edge.state("washer-2", seq=0)]))
    assert summaries() == [] and book.has_pending  # within the interval: they wait
    assert publish_pending_summaries(transactions.engine, broker, book, clock) == 0  # not yet
    ticks.now += 0.5
    assert publish_pending_summaries(transactions.engine, broker, book, clock) == 1
    assert [s["washers"]["free"] for s in summaries()] == [2]  # one summary, as the room is now
    assert not book.has_pending
    ingest.close()


def test_the_summary_book_builds_a_quiet_room_at_once_and_holds_the_rest() -> None:
    ticks = Ticks()
    book = SummaryBook(every_s=2.0, monotonic=ticks)
    assert book.due([3, 1]) == [1, 3]
    ticks.now += 1
    assert book.due([1, 2]) == [2] and book.take_pending() == []
    ticks.now += 1
    assert book.take_pending() == [1] and book.take_pending() == []
    assert SummaryBook().due([5, 5]) == [5]  # every_s 0: every change is built
