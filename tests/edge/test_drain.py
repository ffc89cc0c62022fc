"""The drain window over a fake link: outbox order, a bounded window, archived only on PUBACK.

No broker and no threads: the test connects, drops and acknowledges by hand.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.drain import DrainWindow
from edge.outbox import EventDraft, MachineStateRow, Outbox
from kywash.contract import machine_topic
from tests.edge.fake_link import FakeLink, Sent

TOPIC = machine_topic("site-a", "room-1", "washer-1", "event")


def fill(outbox: Outbox, count: int) -> None:
    drafts = [EventDraft("washer-1", TOPIC, lambda seq: json.dumps({"seq": seq}).encode()) for _ in range(count)]
    outbox.append_events(drafts, [MachineStateRow("washer-1", "idle", 0.0, "closed", 0.0, "idle", 0.0)])


def seq(message: Sent) -> int:
    value: int = json.loads(message.payload)["seq"]
    return value


def seqs(link: FakeLink, *, resent: bool = False) -> list[int]:
    return [seq(m) for m in link.sent if m.resent == resent]


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.db") as box:
        yield box


def test_rows_reach_the_link_in_outbox_order_a_window_at_a_time(outbox: Outbox) -> None:
    fill(outbox, 50)
    link = FakeLink()
    drain = DrainWindow(outbox, link, window=20)
    link.connect()
    drain.drain()
    assert seqs(link) == list(range(1, 21))
    drain.drain()  # the window is full: nothing more until acks come
    assert len(link.sent) == 20
    while link.ack():
        drain.drain()
    assert seqs(link) == list(range(1, 51))
    assert all(m.qos == 1 and not m.retain for m in link.sent)
    assert outbox.depth() == 0 and drain.stats().acked == 50


def test_nothing_leaves_the_outbox_before_its_ack(outbox: Outbox) -> None:
    fill(outbox, 30)
    link = FakeLink()
    drain = DrainWindow(outbox, link, window=20)
    link.connect()
    drain.drain()
    assert outbox.depth() == 30 and drain.stats().in_flight == 20  # sent, but nothing archived

    assert link.ack(lambda m: seq(m) <= 5) == 5
    assert outbox.depth() == 25
    stats = drain.stats()
    assert (stats.in_flight, stats.acked, stats.last_acked_seq, stats.last_sent_seq) == (15, 5, 5, 20)
    assert [row.seq for row in outbox.pending(5)] == [6, 7, 8, 9, 10]


def test_an_ack_that_beats_publish_returning_is_not_lost(outbox: Outbox) -> None:
    fill(outbox, 45)
    link = FakeLink(auto_ack=True)
    drain = DrainWindow(outbox, link, window=20)
    link.connect()
    for _ in range(3):
        drain.drain()
    assert seqs(link) == list(range(1, 46))
    assert outbox.depth() == 0 and drain.stats().in_flight == 0


def test_nothing_is_handed_over_while_the_link_is_down(outbox: Outbox) -> None:
    fill(outbox, 5)
    link = FakeLink()
    drain = DrainWindow(outbox, link)
    drain.drain()
    assert link.unacked() == [] and drain.stats().in_flight == 0  # the outbox is the better queue
    link.connect()
    drain.drain()
    assert seqs(link) == [1, 2, 3, 4, 5]


def test_after_a_reconnect_the_unacked_rows_go_again_and_the_drain_resumes(outbox: Outbox) -> None:
    fill(outbox, 30)
    link = FakeLink()
    drain = DrainWindow(outbox, link, window=20)
    link.connect()
    drain.drain()
    link.ack(lambda m: seq(m) <= 8)
    link.disconnect()
    drain.drain()  # down: the window is not refilled
    assert seqs(link) == list(range(1, 21))

    link.connect()
    assert seqs(link, resent=True) == list(range(9, 21))  # the link sends what it held again
    drain.drain()
    assert seqs(link) == list(range(1, 29))  # the window refills from where it was: 21..28
    assert max(Counter(seqs(link)).values()) == 1  # the drain never hands a row over twice
    while link.ack():
        drain.drain()
    assert outbox.depth() == 0 and drain.stats().acked == 30


def test_after_a_restart_the_unacked_rows_are_sent_again(outbox: Outbox) -> None:
    fill(outbox, 10)
    before = FakeLink()
    first = DrainWindow(outbox, before)
    before.connect()
    first.drain()
    before.ack(lambda m: seq(m) <= 4)
    # The process ends: the link's memory goes with it, the outbox stays.
    after = FakeLink()
    second = DrainWindow(outbox, after)
    after.connect()
    second.drain()
    assert seqs(after) == [5, 6, 7, 8, 9, 10]


def test_a_replay_sends_archived_rows_again_skipping_those_in_flight(outbox: Outbox) -> None:
    fill(outbox, 10)
    link = FakeLink()
    drain = DrainWindow(outbox, link)
    link.connect()
    drain.drain()
    link.ack(lambda m: seq(m) <= 6)
    outbox.requeue(3, None)
    drain.rewind(3)
    drain.drain()
    assert seqs(link) == [*range(1, 11), 3, 4, 5, 6]  # 7..10 are still the link's: not again
