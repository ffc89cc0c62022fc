"""Webhook metrics: deliveries by outcome (counted by the sender), and the queue's depth and
the age of its oldest waiting delivery (read from the database at each scrape, so they are
the same on every replica)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cloud.domain.webhooks.queue import queue_state
from kywash.clock import Clock, to_datetime

log = logging.getLogger(__name__)

OUTCOMES: Final = ("delivered", "retrying", "failed", "refused", "lease_lost")
"""``delivered``: a 2xx; ``retrying``: a failed attempt that will be tried again; ``failed``: the
last attempt failed and the delivery is given up; ``refused``: the target resolved to a
non-public address at send time (given up); ``lease_lost``: the attempt outlived its lease."""


class WebhookMetrics:
    """``kywash_webhook_attempts_total{outcome}``, plus the queue gauges of ``WebhookQueue``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.attempts = Counter(
            "kywash_webhook_attempts", "Webhook delivery attempts, by outcome", ["outcome"], registry=registry
        )
        for outcome in OUTCOMES:
            self.attempts.labels(outcome)

    def count(self, outcome: str) -> float:
        """The current value of ``kywash_webhook_attempts_total{outcome}`` (for tests)."""
        return self.registry.get_sample_value("kywash_webhook_attempts_total", {"outcome": outcome}) or 0.0


class WebhookQueue(Collector):
    """``kywash_webhook_queue_depth`` (deliveries waiting) and ``kywash_webhook_queue_oldest_seconds``."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> Iterable[Metric]:  # so registering never touches the database
        return self._families()

    def collect(self) -> Iterator[Metric]:
        depth, age = self._families()
        try:
            with self.engine.connect() as conn:
                state = queue_state(conn)
        except SQLAlchemyError as exc:
            log.warning("metrics: webhook queue not read: %s", exc)
            return
        depth.add_metric([], state.pending)
        oldest = state.oldest_created_at
        now = to_datetime(self.clock.now())
        age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
        yield depth
        yield age

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("kywash_webhook_queue_depth", "Webhook deliveries waiting to be sent or retried"),
            GaugeMetricFamily(
                "kywash_webhook_queue_oldest_seconds", "Age of the oldest webhook delivery still waiting"
            ),
        )
