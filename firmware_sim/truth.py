"""Ground truth: what really happened in the room, to compare against what the cloud recorded.

With a ``path`` the log is also a file of JSON lines, each written and fsync'd as it is
recorded, so the truth outlives a simulator killed with SIGKILL (its edge process with it:
the chaos tests, tests/chaos/). A simulator that starts again on the same file first
appends a ``restarted`` line (``machine`` ``"*"``): every machine's cycle that was running
when the process died was cut short there. ``read_truth_file`` reads such a file back.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Literal

TruthKind = Literal["door_opened", "door_closed", "cycle_started", "cycle_finished", "cycle_interrupted"]
RESTARTED = "restarted"
"""The ``what`` of the line a restarted simulator appends to its truth file (``machine`` "*")."""
ALL_MACHINES = "*"


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

    def __init__(self, path: str | Path | None = None) -> None:
        self._entries: list[GroundTruth] = []
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if path is not None:
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open; closed by close()

    def record(self, ts: float, machine: str, what: TruthKind, detail: str | None = None) -> None:
        self._append(GroundTruth(ts, machine, what, detail))

    def mark_restarted(self, ts: float) -> None:
        """Say in the file that a new simulator run starts here (``ts``: its clock's time)."""
        self._append(GroundTruth(ts, ALL_MACHINES, RESTARTED))

    def _append(self, entry: GroundTruth) -> None:
        with self._lock:
            self._entries.append(entry)
            if self._file is not None:
                self._file.write(json.dumps(asdict(entry)) + "\n")
                self._file.flush()
                os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file (if any); later entries are kept in memory only."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def entries(self) -> list[GroundTruth]:
        """A snapshot: later appends do not change the returned list."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def read_truth_file(path: str | Path) -> list[GroundTruth]:
    """The entries of a truth file, in the order written; a torn last line (a kill mid-write) is skipped."""
    out: list[GroundTruth] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        out.append(GroundTruth(float(data["ts"]), str(data["machine"]), str(data["what"]), data.get("detail")))
    return out
