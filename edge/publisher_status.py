"""The publisher's counters, in a module of their own so ``edge.status`` needs no paho."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.replay import ReplayStats


@dataclass(frozen=True)
class PublisherStatus:
    connected: bool
    connects: int
    connect_failures: int
    in_flight: int
    acked: int
    last_acked_seq: int
    last_sent_seq: int = 0
    telemetry_sent: int = 0
    telemetry_dropped: int = 0
    telemetry_buffered: int = 0
    replay: ReplayStats = field(default_factory=ReplayStats)
    inbound_failed: int = 0
    """Incoming messages that made their desk fail (refused ones are counted by the desks)."""
