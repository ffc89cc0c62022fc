"""Counters for ingest, so an operator can see what arrives and what is refused, and why."""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter

ACCEPTED_KINDS: Final = ("status", "info", "state", "event", "duplicate", "stale", "telemetry", "cleared")
"""``duplicate``: an event already applied (a redelivery); ``stale``: a state older than the stored
one; ``cleared``: an empty payload, which deletes a retained message (nothing to apply)."""
REJECT_REASONS: Final = (
    "bad_topic",
    "bad_id",
    "not_json",
    "invalid",
    "newer_schema",
    "too_large",
    "unknown_room",
    "unknown_machine",
    "error",
)
"""Contract reasons from ``kywash.contract``, then ours; ``error`` is an unexpected failure."""


class IngestMetrics:
    """``kywash_ingest_messages_total{kind}`` and ``kywash_ingest_rejected_total{reason}``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.messages = Counter(
            "kywash_ingest_messages",
            "MQTT messages applied by ingest, by kind",
            ["kind"],
            registry=registry,
        )
        self.rejected = Counter(
            "kywash_ingest_rejected",
            "MQTT messages refused by ingest, by reason",
            ["reason"],
            registry=registry,
        )
        for kind in ACCEPTED_KINDS:
            self.messages.labels(kind)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)

    def count_accepted(self, kind: str) -> None:
        self.messages.labels(kind).inc()

    def count_rejected(self, reason: str) -> None:
        self.rejected.labels(reason).inc()

    def accepted(self, kind: str) -> float:
        """The current count (for tests and the demo's summary)."""
        value = self.registry.get_sample_value("kywash_ingest_messages_total", {"kind": kind})
        return value or 0.0

    def rejections(self, reason: str) -> float:
        value = self.registry.get_sample_value("kywash_ingest_rejected_total", {"reason": reason})
        return value or 0.0
