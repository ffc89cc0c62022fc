"""The durable outbox: sequence numbers never repeat, events and states commit together, order is kept."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from edge.errors import OutboxError
from edge.outbox import EventDraft, MachineStateRow, Outbox


def draft(machine: str = "washer-1", topic: str = "t/event") -> EventDraft:
    return EventDraft(machine=machine, topic=topic, render=lambda seq: f'{{"seq": {seq}}}'.encode())


def state(machine: str = "washer-1", value: str = "running") -> MachineStateRow:
    return MachineStateRow(machine, value, 10.0, "closed", 2.5, value, 10.0, cycle_started_at=5.0)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.db")


def test_settings_are_durable(outbox: Outbox) -> None:
    db = sqlite3.connect(outbox.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_sequence_numbers_survive_acks_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with Outbox(path) as outbox:
        assert outbox.append_events([draft(), draft()]) == [1, 2]
        outbox.ack(1)
        outbox.ack(2)
        assert outbox.depth() == 0 and outbox.last_seq() == 2
    with Outbox(path) as outbox:
        assert outbox.append_events([draft()]) == [3]
        assert [row.payload for row in outbox.pending()] == [b'{"seq": 3}']


def test_events_and_state_are_written_together(outbox: Outbox) -> None:
    outbox.append_events(
        [draft("washer-1"), draft("dryer-1"), draft("washer-1")], [state("washer-1"), state("dryer-1")]
    )
    states = outbox.machine_states()
    assert states["washer-1"].seq == 3 and states["dryer-1"].seq == 2  # the event that led there
    assert states["washer-1"].cycle_started_at == 5.0 and states["washer-1"].current == 2.5


def test_a_failing_batch_leaves_nothing_behind(outbox: Outbox) -> None:
    def broken(seq: int) -> bytes:
        raise RuntimeError("payload could not be built")

    outbox.append_events([draft()], [state(value="idle")])
    with pytest.raises(RuntimeError):
        outbox.append_events([draft(), EventDraft("washer-1", "t", broken)], [state(value="running")])
    assert outbox.depth() == 1 and outbox.last_seq() == 1
    assert outbox.machine_states()["washer-1"].state == "idle"
    assert outbox.append_events([draft()]) == [2]


def test_pending_keeps_order_and_ack_removes(outbox: Outbox) -> None:
    outbox.append_events([draft(topic=f"t/{i}") for i in range(5)])
    assert [row.seq for row in outbox.pending(3)] == [1, 2, 3]
    assert [row.seq for row in outbox.pending(10, after=3)] == [4, 5]
    outbox.ack(2)
    assert [row.topic for row in outbox.pending()] == ["t/0", "t/2", "t/3", "t/4"]
    assert outbox.depth() == 4


def test_states_without_events_keep_their_seq(outbox: Outbox) -> None:
    outbox.append_events([draft()], [state()])
    outbox.save_states([MachineStateRow("washer-1", "paused", 20.0, "closed", 0.0, "paused", 20.0, seq=1)])
    assert outbox.machine_states()["washer-1"].state == "paused"
    assert outbox.machine_states()["washer-1"].seq == 1


def test_boot_history(outbox: Outbox) -> None:
    outbox.record_boot("a", 1.0)
    outbox.record_boot("b", 2.0)
    assert outbox.boots() == [("a", 1.0), ("b", 2.0)]


def test_threads_share_one_connection(outbox: Outbox) -> None:
    def writer() -> None:
        for _ in range(50):
            outbox.append_events([draft()])

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [row.seq for row in outbox.pending(1000)] == list(range(1, 201))


def test_closed_outbox_raises_outbox_error(outbox: Outbox) -> None:
    outbox.close()
    outbox.close()
    with pytest.raises(OutboxError, match="closed"):
        outbox.depth()
