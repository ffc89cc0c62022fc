"""A recorded current trace: one machine's RMS amps over time, stored as CSV ``t_s,amps``.

``kywash edge record`` writes it, ``kywash edge calibrate --trace`` and ``kywash edge
replay|plot`` read it. Any fixed sample rate works (readers resample); times only need
to increase.

Recordings from elsewhere (a smart plug's export, a logger) are read too: the header may
name the time ``t_s``, ``t``, ``time`` or ``timestamp`` (seconds, or ISO 8601 dates) and
the current ``amps`` or ``current`` (A) or ``watts`` / ``power`` (W, converted at
``MAINS_VOLTS``), in any case; extra columns are ignored.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from edge.errors import EdgeError

HEADER = "t_s,amps"
MAINS_VOLTS = 230.0
"""A ``watts`` column becomes amps at this voltage (a resistive load's RMS current)."""
TIME_COLUMNS = ("t_s", "t", "time", "timestamp")
AMPS_COLUMNS = ("amps", "current")
WATTS_COLUMNS = ("watts", "power")


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


def _columns(path: str | Path, header: list[str] | None) -> tuple[int, int, float]:
    """(time column, current column, amps per unit) from the header line."""
    names = [h.strip().lstrip("\ufeff").lower() for h in header or []]
    when = next((names.index(n) for n in TIME_COLUMNS if n in names), None)
    amps = next((names.index(n) for n in AMPS_COLUMNS if n in names), None)
    watts = next((names.index(n) for n in WATTS_COLUMNS if n in names), None)
    if when is None or (amps is None and watts is None):
        raise TraceError(
            f"{path}: the first line must be a header naming the time and the current, "
            f"'{HEADER}' (or t,amps / time,current / timestamp,watts); got {','.join(header or [])[:80]!r}"
        )
    return (when, amps, 1.0) if amps is not None else (when, watts or 0, 1.0 / MAINS_VOLTS)


def _seconds(text: str) -> float:
    """A time as seconds: a number, or an ISO 8601 date (UTC unless it says otherwise)."""
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text.strip())
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def load_trace(path: str | Path) -> Trace:
    """Read a ``t_s,amps`` CSV (a header line, then one sample a line; times may start anywhere)."""
    samples: list[tuple[float, float]] = []
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = csv.reader(handle)
            when, column, scale = _columns(path, next(rows, None))
            for line, row in enumerate(rows, start=2):
                if not "".join(row).strip():
                    continue
                try:
                    t, amps = _seconds(row[when]), float(row[column]) * scale
                except (IndexError, ValueError):
                    raise TraceError(f"{path}:{line}: expected a time and a number, got {row!r}") from None
                if not (math.isfinite(t) and math.isfinite(amps)) or amps < 0:
                    raise TraceError(f"{path}:{line}: {row!r} is not a time and a non-negative current")
                samples.append((t, amps))
    except OSError as exc:
        raise TraceError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TraceError(f"{path}: not a CSV text file ({exc})") from None
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
