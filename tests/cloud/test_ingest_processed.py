"""``Ingest.run`` tells its source when a message may be acknowledged: after it was committed
or refused for good, never while the database is away (the broker must keep it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from cloud.api.metrics import new_registry
from cloud.domain.accounts.session_cache import SessionCache
from cloud.domain.machines.cache import ViewCache
from cloud.platform.hub import Hub
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.migrate import upgrade_database
from cloud.platform.unit_of_work import Transactions
from cloud.processes.delivery import LiveDelivery
from cloud.processes.ingest import Ingest
from cloud.processes.ingest_metrics import IngestMetrics
from kywash.clock import FakeClock
from tests.cloud.fake_edge import FakeEdge


class ListSource:
    """Yields given messages and records which of them were declared processed."""

    def __init__(self, messages: Iterable[tuple[str, bytes]]) -> None:
        self._messages = list(messages)
        self._last: str | None = None
        self.processed_topics: list[str] = []

    def __aiter__(self) -> ListSource:
        return self

    async def __anext__(self) -> tuple[str, bytes]:
        if not self._messages:
            raise StopAsyncIteration
        topic, payload = self._messages.pop(0)
        self._last = topic
        return topic, payload

    def processed(self) -> None:
        assert self._last is not None
        self.processed_topics.append(self._last)


def _ingest(database_url: str) -> Ingest:
    settings = CloudSettings(database_url=database_url, ingest_enabled=False)
    hub = Hub(64)
    delivery = LiveDelivery(hub, None, None, ViewCache(), SessionCache())
    ingest = Ingest(
        Transactions(make_engine(database_url), FakeClock(), settings, lambda: delivery), IngestMetrics(new_registry())
    )
    ingest.retry_delays_s = ()
    return ingest


def test_committed_and_refused_messages_are_processed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    upgrade_database(url)
    edge = FakeEdge(site="north")
    messages = [
        edge.info(),
        edge.status(),
        ("kywash/v1/north/r1/machine/washer-1/event", b"{not json"),
        edge.event("washer-1"),
    ]
    source = ListSource(messages)
    ingest = _ingest(url)
    asyncio.run(ingest.run(source))
    ingest.close()
    assert source.processed_topics == [topic for topic, _ in messages]


def test_a_message_the_database_could_not_take_is_not_processed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'cloud.db'}"  # every connection fails
    edge = FakeEdge(site="north")
    source = ListSource([edge.info(), edge.event("washer-1")])
    ingest = _ingest(url)
    asyncio.run(ingest.run(source))
    ingest.close()
    assert source.processed_topics == []
    assert ingest.metrics.rejections("database_unavailable") == 2


def test_the_database_is_tried_again_after_each_retry_delay_then_the_error_stands(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'cloud.db'}"  # every connection fails
    ingest = _ingest(url)
    ingest.retry_delays_s = (0.1, 0.2)
    topic, payload = FakeEdge(site="north").info()
    caplog.set_level(logging.WARNING, logger="cloud.processes.ingest")
    with pytest.raises(OperationalError):
        asyncio.run(ingest.handle(topic, payload))
    ingest.close()
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert [r.rsplit("retrying in ", 1)[1] for r in retries] == ["0.1 s", "0.2 s"], retries
