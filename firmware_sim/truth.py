"""Ground truth: what really happened in the room, to compare against what the cloud recorded."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

TruthKind = Literal["door_opened", "door_closed", "cycle_started", "cycle_finished", "cycle_interrupted"]


@dataclass(frozen=True)
class GroundTruth:
    """One physical fact; ``ts`` is the simulated time it happened, not when it was noticed."""

    ts: float
    machine: str
    what: str
    detail: str | None = None


class TruthLog:
    """Append-only log shared by the machines of a room; safe to append from any thread.

    Entries are appended when the simulator notices them, so a ``cycle_finished`` may
    land a moment after a later event of another machine: sort by ``ts`` when order matters.
    """

    def __init__(self) -> None:
        self._entries: list[GroundTruth] = []
        self._lock = threading.Lock()

    def record(self, ts: float, machine: str, what: TruthKind, detail: str | None = None) -> None:
        with self._lock:
            self._entries.append(GroundTruth(ts, machine, what, detail))

    def entries(self) -> list[GroundTruth]:
        """A snapshot: later appends do not change the returned list."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
