"""Counters for ingest, so an operator can see what arrives and what is refused, and why."""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

ACCEPTED_KINDS: Final = (
    "status",
    "info",
    "state",
    "event",
    "duplicate",
    "old_epoch",
    "stale",
    "telemetry",
    "telemetry_coalesced",
    "cleared",
    "cmd",
    "ack",
    "health",
    "homeassistant",
    "profile",
)
"""``duplicate``: an event already applied (a redelivery); ``old_epoch``: a late event from before
the room's edge restarted its sequence, stored there without moving anything; ``stale``: a state
older than the stored one, or a learned profile that learned less than the stored one (a late
redelivery, a replaced Pi's before it got its own back); ``cleared``: an empty payload, which
deletes a retained message; ``telemetry``: a machine's live current stored; ``telemetry_coalesced``:
one not stored, because a later one came in the same batch or one was stored moments ago;
``profile``: a learned machine profile stored. A malformed profile is
refused with the contract's reasons (``not_json``, ``invalid``, ...; ``unknown_machine``)."""
REJECT_REASONS: Final = (
    "bad_topic",
    "bad_id",
    "not_json",
    "invalid",
    "newer_schema",
    "too_large",
    "unknown_room",
    "unknown_machine",
    "bad_command",
    "error",
)
"""Contract reasons from ``kywash.contract``, then ours; ``bad_command``: a staff ``cmd`` that is
malformed (its payload or its topic); ``error`` is an unexpected failure."""


class IngestMetrics:
    """``kywash_ingest_messages_total{kind}``, ``kywash_ingest_rejected_total{reason}`` and
    ``kywash_ingest_batch_size`` (messages per transaction)."""

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

        self.replay_requests = Counter(
            "kywash_ingest_replay_requests",
            "Replay requests published to edges for gaps in a room's event sequence",
            registry=registry,
        )
        self.batch_sizes = Histogram(
            "kywash_ingest_batch_size",
            "Messages applied per ingest transaction (1 under a light load, more as they queue up)",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
            registry=registry,
        )
        self.seq_resets = Counter(
            "kywash_ingest_seq_resets",
            "Rooms whose edge restarted its event sequence (a wiped edge): a new epoch began",
            registry=registry,
        )

    def count_replay_request(self, count: int = 1) -> None:
        self.replay_requests.inc(count)

    def count_seq_reset(self) -> None:
        self.seq_resets.inc()

    def replay_request_count(self) -> float:
        return self.registry.get_sample_value("kywash_ingest_replay_requests_total") or 0.0

    def seq_reset_count(self) -> float:
        return self.registry.get_sample_value("kywash_ingest_seq_resets_total") or 0.0

    def count_accepted(self, kind: str) -> None:
        self.messages.labels(kind).inc()

    def count_rejected(self, reason: str, count: int = 1) -> None:
        self.rejected.labels(reason).inc(count)

    def count_batch(self, size: int) -> None:
        self.batch_sizes.observe(size)

    def batch_count(self) -> float:
        """How many ingest transactions ran (for tests)."""
        return self.registry.get_sample_value("kywash_ingest_batch_size_count") or 0.0

    def accepted(self, kind: str) -> float:
        """The current count (for tests and the demo's summary)."""
        value = self.registry.get_sample_value("kywash_ingest_messages_total", {"kind": kind})
        return value or 0.0

    def rejections(self, reason: str) -> float:
        value = self.registry.get_sample_value("kywash_ingest_rejected_total", {"reason": reason})
        return value or 0.0
