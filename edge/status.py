"""What the running agent reports about itself: plain counters and a status snapshot.

No metrics library on the Pi: ints in a dataclass, read through ``EdgeAgent.status()``
(for ``kywash edge status`` and logs).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.publisher import PublisherStatus
from edge.sensors.board import BoardHealth
from kywash.contract import Door, MachineKind, MachineState


@dataclass
class AgentStats:
    """Counters of the sensor loop (only that thread writes them)."""

    door_edges: int = 0
    door_changes: int = 0
    board_readings: int = 0
    missing_channel: int = 0
    sensor_faults: int = 0
    events_written: int = 0
    outbox_errors: int = 0
    telemetry_sent: int = 0
    telemetry_dropped: int = 0
    loop_errors: int = 0


@dataclass(frozen=True)
class MachineStatus:
    id: str
    kind: MachineKind
    state: MachineState
    since: float
    door: Door
    current_a: float


@dataclass(frozen=True)
class AgentStatus:
    """A snapshot of the agent for humans and health checks."""

    site: str
    room: str
    boot_id: str
    running: bool
    broker_connected: bool
    outbox_depth: int
    last_seq: int
    machines: tuple[MachineStatus, ...]
    stats: AgentStats
    board: BoardHealth
    publisher: PublisherStatus
