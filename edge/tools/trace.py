"""A recorded current trace: one machine's RMS amps over time, stored as CSV ``t_s,amps``.

``kywash edge record`` writes it, ``kywash edge calibrate --trace`` and ``kywash sim
replay|plot`` read it. Any fixed sample rate works (readers resample); times only need
to increase.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from edge.errors import EdgeError

HEADER = "t_s,amps"


class TraceError(EdgeError, ValueError):
    """A trace that cannot be used; the message names the file, the line and why."""


@dataclass(frozen=True)
class Trace:
    """Samples of one machine's current: ``times`` (seconds, strictly increasing) and ``amps``."""

    times: tuple[float, ...]
    amps: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.times) != len(self.amps) or not self.times:
            raise TraceError("a trace needs at least one sample, and one amps value per time")
        if any(b <= a for a, b in zip(self.times, self.times[1:], strict=False)):
            raise TraceError("trace times must increase strictly")

    @classmethod
    def of(cls, samples: Iterable[tuple[float, float]]) -> Trace:
        pairs = list(samples)
        return cls(tuple(t for t, _ in pairs), tuple(a for _, a in pairs))

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1]


def load_trace(path: str | Path) -> Trace:
    """Read a ``t_s,amps`` CSV (a header line, then one sample a line; times may start anywhere)."""
    samples: list[tuple[float, float]] = []
    with Path(path).open(newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:2]] != ["t_s", "amps"]:
            raise TraceError(f"{path}: the first line must be the header '{HEADER}'")
        for line, row in enumerate(rows, start=2):
            if not "".join(row).strip():
                continue
            try:
                t, amps = float(row[0]), float(row[1])
            except (IndexError, ValueError):
                raise TraceError(f"{path}:{line}: expected two numbers, got {row!r}") from None
            if not (math.isfinite(t) and math.isfinite(amps)) or amps < 0:
                raise TraceError(f"{path}:{line}: {row!r} is not a time and a non-negative current")
            samples.append((t, amps))
    try:
        return Trace.of(samples)
    except TraceError as exc:
        raise TraceError(f"{path}: {exc}") from None


def write_sample(handle: TextIO, t: float, amps: float) -> None:
    handle.write(f"{t:.3f},{amps:.2f}\n")


def write_trace(path: str | Path, samples: Iterable[tuple[float, float]]) -> None:
    """Write samples as a ``t_s,amps`` CSV (what ``kywash edge record`` produces)."""
    with Path(path).open("w", newline="") as handle:
        handle.write(HEADER + "\n")
        for t, amps in samples:
            write_sample(handle, t, amps)
