"""``Transactions.delivery_order``: each transaction renders, commits and sends its live
messages before the next one renders (issue 15), and a transaction never keeps it by mistake."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection

from cloud.platform.hub import Audience
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.engine import make_engine
from cloud.platform.unit_of_work import Changes, Transactions, Tx
from kywash.clock import FakeClock


class RecordingDelivery:
    """Writes down when each transaction renders and sends; a send can be made to wait."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.hold: dict[str, threading.Event] = {}
        self.sending: dict[str, threading.Event] = {}

    def prepare(self, conn: Connection, changes: Changes, now: datetime) -> Callable[[], None]:
        name = changes.messages[0][0]["name"] if changes.messages else "quiet"
        self.log.append(f"render {name}")
        if name == "broken":
            raise RuntimeError("the render failed")

        def send() -> None:
            if name in self.hold:
                self.sending[name].set()
                assert self.hold[name].wait(10)
            self.log.append(f"send {name}")

        return send

    def held(self, name: str) -> threading.Event:
        self.hold[name], self.sending[name] = threading.Event(), threading.Event()
        return self.hold[name]


@pytest.fixture
def delivery() -> RecordingDelivery:
    return RecordingDelivery()


@pytest.fixture
def transactions(tmp_path: Path, delivery: RecordingDelivery) -> Transactions:
    settings = CloudSettings(database_url=f"sqlite:///{tmp_path / 'order.db'}")
    return Transactions(make_engine(settings.database_url), FakeClock(), settings, lambda: delivery)


def says(name: str) -> Callable[[Tx], None]:
    return lambda tx: tx.changes.send({"type": "test", "name": name}, Audience.of_user(1))


def test_a_transaction_renders_only_once_the_one_before_has_sent(
    transactions: Transactions, delivery: RecordingDelivery
) -> None:
    release = delivery.held("first")
    first = threading.Thread(target=transactions.run, args=(says("first"),))
    second = threading.Thread(target=transactions.run, args=(says("second"),))
    first.start()
    assert delivery.sending["first"].wait(10)
    second.start()
    second.join(timeout=0.5)  # it may not render while the first has not sent
    release.set()
    first.join(10)
    second.join(10)
    assert delivery.log == ["render first", "send first", "render second", "send second"]


def test_a_transaction_with_nothing_live_does_not_wait(transactions: Transactions, delivery: RecordingDelivery) -> None:
    release = delivery.held("first")
    first = threading.Thread(target=transactions.run, args=(says("first"),))
    first.start()
    assert delivery.sending["first"].wait(10)
    try:
        quiet = threading.Thread(target=transactions.run, args=(lambda tx: None,))
        quiet.start()
        quiet.join(10)
        assert not quiet.is_alive() and delivery.log == ["render first", "render quiet", "send quiet"]
    finally:
        release.set()
        first.join(10)


def test_a_transaction_whose_render_fails_lets_the_next_one_go(
    transactions: Transactions, delivery: RecordingDelivery
) -> None:
    def broken() -> None:  # on a thread of its own: a lock it kept would stop the next one
        with pytest.raises(RuntimeError):
            transactions.run(says("broken"))

    failing = threading.Thread(target=broken)
    failing.start()
    failing.join(10)
    done = threading.Thread(target=transactions.run, args=(says("next"),))
    done.start()
    done.join(10)
    assert not done.is_alive() and delivery.log == ["render broken", "render next", "send next"]
