"""A Prometheus registry per app (so two apps in one process, as in tests, never collide), and
the figures read from the database when Prometheus scrapes.

With ``kywash cloud --workers N`` each worker is its own process: ``PROMETHEUS_MULTIPROC_DIR``
is then set and ``scrape_registry`` merges every worker's counters and histograms through
prometheus_client's multiprocess collector, so a scrape answered by any worker is the whole
service's. Figures from the database are the same whichever worker reads them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from cloud.platform.storage.tables import room_sequences
from cloud.processes.webhook_metrics import WebhookQueue
from kywash.clock import Clock, to_datetime

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def new_registry() -> CollectorRegistry:
    """An empty registry with the usual process, platform and garbage-collector metrics."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class SequenceGaps(Collector):
    """``kywash_sequence_gap_rooms`` (rooms missing events now) and
    ``kywash_sequence_gap_oldest_seconds`` (how long the oldest open gap has been open)."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> Iterable[Metric]:  # so registering never touches the database
        return self._families()

    def collect(self) -> Iterator[Metric]:
        rooms, age = self._families()
        try:
            with self.engine.connect() as conn:
                count, oldest = conn.execute(
                    select(func.count(), func.min(room_sequences.c.gap_since)).where(
                        room_sequences.c.gap_since.is_not(None)
                    )
                ).one()
        except SQLAlchemyError as exc:  # /api/health says the database is down; keep the rest
            log.warning("metrics: sequence gaps not read: %s", exc)
            return
        rooms.add_metric([], count)
        now = to_datetime(self.clock.now())
        age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
        yield rooms
        yield age

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("kywash_sequence_gap_rooms", "Rooms whose event sequence has an open gap"),
            GaugeMetricFamily(
                "kywash_sequence_gap_oldest_seconds", "Age of the oldest open gap in any room's event sequence"
            ),
        )


def scrape_registry(registry: CollectorRegistry, engine: Engine, clock: Clock) -> CollectorRegistry:
    """What ``/metrics`` serves: the app's registry, or every worker's figures under ``--workers``."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return registry
    merged = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
    merged.register(SequenceGaps(engine, clock))
    merged.register(WebhookQueue(engine, clock))
    return merged
