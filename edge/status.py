"""What the running agent reports about itself: plain counters and a status snapshot.

No metrics library on the Pi: ints in a dataclass, read through ``EdgeAgent.status()``.
``kywash edge status`` runs in another process, so the agent also stores the snapshot
as JSON in the outbox's ``meta`` table (``STATUS_KEY``) every few seconds and on close;
``edge.status_report`` prints it with its age, so a stale snapshot is visible as such.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from edge.publisher_status import PublisherStatus
from edge.sensors.board import BoardHealth
from kywash.contract import Door, MachineKind, MachineState

STATUS_KEY = "agent_status"


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
    outbox_full: int = 0
    loop_errors: int = 0
    profiles_saved: int = 0
    profiles_adopted: int = 0
    """Profiles taken from the broker because they had learned more than ours."""
    bad_profiles: int = 0
    """Profiles from the broker refused (malformed, another machine's or kind's); counted on
    paho's thread by ``edge.profile_store`` and copied in by ``EdgeAgent.status()``."""


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
    archive_size: int = 0
    last_acked_seq: int = 0
    unsaved_events: int = 0
    healthy: bool = True
    health: str = ""
    sensor_loop_age_s: float = 0.0
    written_at: float = 0.0

    def to_json(self) -> str:
        """The snapshot as JSON (enums as their values), for the outbox's ``meta`` table."""
        return json.dumps(asdict(self), default=str)
