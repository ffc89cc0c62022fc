"""Counters for Web Push, so an operator sees pushes leaving, failing (and why), and dead browsers dropped."""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter

FAILURE_REASONS: Final = ("gone", "rejected", "unavailable", "network", "error", "queue_full")
"""``gone``: the push service says the subscription no longer exists (404/410); ``rejected``:
another 4xx (often a VAPID key the subscription was not made with); ``unavailable``: 429 or
5xx; ``network``: no answer; ``error``: a bug; ``queue_full``: dropped before sending."""
REMOVAL_REASONS: Final = ("gone", "failing")
"""``failing``: too many failures in a row."""


class PushMetrics:
    """``kywash_push_sent_total``, ``kywash_push_failed_total{reason}``,
    ``kywash_push_subscriptions_removed_total{reason}``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.sent = Counter("kywash_push_sent", "Web pushes accepted by a push service", registry=registry)
        self.failed = Counter(
            "kywash_push_failed",
            "Web pushes that did not reach a push service, by reason",
            ["reason"],
            registry=registry,
        )
        self.removed = Counter(
            "kywash_push_subscriptions_removed",
            "Push subscriptions dropped because the push service gave up on them, by reason",
            ["reason"],
            registry=registry,
        )
        for reason in FAILURE_REASONS:
            self.failed.labels(reason)
        for reason in REMOVAL_REASONS:
            self.removed.labels(reason)

    def count(self, name: str, labels: dict[str, str] | None = None) -> float:
        """The current value of ``kywash_push_<name>_total`` (for tests)."""
        return self.registry.get_sample_value(f"kywash_push_{name}_total", labels) or 0.0
