"""Learning a machine's thresholds from a few recorded cycles. Pure: traces in, a proposal out.

1. **Levels.** The samples split into a low and a high cluster (two-means on log amps,
   so a 10 A heater does not drown a 0.4 A fill valve). *Idle* is the 95th percentile
   of the low samples that sit in quiet stretches of at least a minute (a washer's 5 s
   drum rests are not idle); *running* is the 10th percentile of the high cluster.
2. **On/off.** Off sits a third of the way from idle to running, on two thirds: both
   clear of the noise above idle and of the running floor, with hysteresis between.
3. **Dwells.** With those, the traces are cut into cycles (runs of draw closer than the
   kind's longest quiet), and the longest quiet stretch inside a cycle (a soak, early or
   late) sets ``off_dwell_s`` (the wait for an end without evidence), and the longest
   short pulse after a cycle's end (a dryer's anti-wrinkle tumble) the restart and resume
   dwells, with a 50 % margin; never shorter than the kind's defaults, which encode what
   the recordings may not have caught.

These are the cold-start rules only. What really tells one machine's ends from its pauses
is its learned profile (``edge.learning``): ``kywash edge calibrate --profile-out`` plays
the recordings through a detector (``edge.tools.learn``) and writes what it learned, which
replaces hand-set thresholds for that machine once the edge has it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.errors import EdgeError
from edge.thresholds import DEFAULT_THRESHOLDS, Thresholds
from edge.tools.trace import Trace
from kywash.contract import MachineKind

STEADY_QUIET_S = 60.0
"""A low stretch at least this long counts as idle (not a pause between drum turns)."""
SUSTAINED_S = 60.0
"""A run of draw at least this long is part of a cycle; shorter ones after the end are pulses."""
MARGIN = 1.5
MIN_GAP_AMPS = 0.05


class CalibrationError(EdgeError, ValueError):
    """The traces cannot tell idle from running (no cycle, or levels that overlap)."""


@dataclass(frozen=True)
class Levels:
    idle_amps: float
    """95th percentile of steady quiet."""
    running_amps: float
    """10th percentile of the running draw."""


@dataclass(frozen=True)
class CycleShape:
    start: float
    end: float
    longest_early_quiet_s: float
    longest_late_quiet_s: float
    longest_pulse_after_s: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Calibration:
    kind: MachineKind
    levels: Levels
    cycles: tuple[CycleShape, ...]
    thresholds: Thresholds
    samples: int
    notes: tuple[str, ...] = field(default=())
    learned: tuple[str, ...] = ("on_amps", "off_amps", "off_dwell_s")
    """The fields the traces set; the rest keep the kind's values and are left out of the snippet."""

    def to_toml(self, machine_id: str | None = None) -> str:
        """A ``[machines.thresholds]`` table with comments, to paste under the machine's entry."""
        who = f"{machine_id} ({self.kind.value})" if machine_id else self.kind.value
        minutes = ", ".join(f"{c.seconds / 60:.1f}" for c in self.cycles)
        lines = [
            f"# kywash edge calibrate: {who}, {len(self.cycles)} cycle(s) of {minutes} min, {self.samples} samples",
            f"# idle <= {self.levels.idle_amps:.2f} A (p95 of steady quiet), "
            f"running >= {self.levels.running_amps:.2f} A (p10 of the draw)",
            *(f"# note: {note}" for note in self.notes),
            "# Paste under this machine's [[machines]] entry in the room config:",
            "[machines.thresholds]",
        ]
        values = self.thresholds.model_dump()
        lines += [f"{name} = {_number(values[name])}" for name in self.learned]
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def split_point(amps: Sequence[float]) -> float:
    """The amps that best separate a low and a high cluster (two-means on ``log10(a + 0.01)``)."""
    logs = [math.log10(a + 0.01) for a in amps]
    low, high = percentile(logs, 5), percentile(logs, 95)
    if high - low < 0.3 or 10**high - 10**low < MIN_GAP_AMPS:  # under 2x or 0.05 A apart: one cluster
        raise CalibrationError("the current never changes much: record while the machine runs a cycle")
    for _ in range(50):
        cut = (low + high) / 2
        lows = [v for v in logs if v < cut]
        highs = [v for v in logs if v >= cut]
        new_low, new_high = sum(lows) / len(lows), sum(highs) / len(highs)
        if (new_low, new_high) == (low, high):
            break
        low, high = new_low, new_high
    return float(10 ** ((low + high) / 2) - 0.01)


def _stretches(trace: Trace, inside: Sequence[bool]) -> list[tuple[float, float]]:
    """(start, end) of each maximal run of samples where ``inside`` holds; end is the next sample."""
    out: list[tuple[float, float]] = []
    begin: float | None = None
    for i, flag in enumerate(inside):
        if flag and begin is None:
            begin = trace.times[i]
        elif not flag and begin is not None:
            out.append((begin, trace.times[i]))
            begin = None
    if begin is not None:
        out.append((begin, trace.end))
    return out


def levels(traces: Sequence[Trace]) -> Levels:
    everything = [a for trace in traces for a in trace.amps]
    cut = split_point(everything)
    steady: list[float] = []
    for trace in traces:
        for begin, end in _stretches(trace, [a < cut for a in trace.amps]):
            if end - begin >= STEADY_QUIET_S:
                steady += [a for t, a in zip(trace.times, trace.amps, strict=True) if begin <= t < end]
    if not steady:
        raise CalibrationError(f"no quiet stretch of {STEADY_QUIET_S:.0f} s: record some idle time too")
    return Levels(percentile(steady, 95), percentile([a for a in everything if a >= cut], 10))


def cycles(trace: Trace, on: float, off: float, merge_gap_s: float, min_cycle_s: float) -> list[CycleShape]:
    """The cycles in one trace: runs of draw ``>= on`` closer than ``merge_gap_s``, pulses trimmed."""
    runs = _stretches(trace, [a >= on for a in trace.amps])
    groups: list[list[tuple[float, float]]] = []
    for run in runs:
        if groups and run[0] - groups[-1][-1][1] < merge_gap_s:
            groups[-1].append(run)
        else:
            groups.append([run])
    quiet = _stretches(trace, [a < off for a in trace.amps])
    shapes = []
    for group in groups:
        sustained = [i for i, (b, e) in enumerate(group) if e - b >= SUSTAINED_S]
        if not sustained:
            continue  # a blip, not a cycle
        start, end = group[sustained[0]][0], group[sustained[-1]][1]
        pulses = [e - b for b, e in group[sustained[-1] + 1 :]]
        inner = [(b, min(e, end) - b) for b, e in quiet if start < b < end]
        early = [s for b, s in inner if b - start < min_cycle_s]
        late = [s for b, s in inner if b - start >= min_cycle_s]
        shapes.append(CycleShape(start, end, max(early, default=0.0), max(late, default=0.0), max(pulses, default=0)))
    return shapes


def _ceil_to(seconds: float, step: float) -> float:
    return float(math.ceil(seconds / step) * step)


def calibrate(traces: Sequence[Trace], kind: MachineKind) -> Calibration:
    """Propose thresholds for a machine of ``kind`` from traces holding its cycles."""
    if not traces:
        raise CalibrationError("no traces")
    base = DEFAULT_THRESHOLDS[kind]
    found = levels(traces)
    gap = found.running_amps - found.idle_amps
    if gap < MIN_GAP_AMPS:
        raise CalibrationError(
            f"idle ({found.idle_amps:.2f} A) and running ({found.running_amps:.2f} A) overlap: check the clamp"
        )
    off = max(round(found.idle_amps + gap / 3, 2), 0.01)
    on = max(round(found.idle_amps + 2 * gap / 3, 2), off + 0.01)
    merge = base.off_dwell_s
    shapes = [c for trace in traces for c in cycles(trace, on, off, merge, base.min_cycle_s)]
    if not shapes:
        raise CalibrationError("no cycle in the traces (no draw lasting a minute)")
    thresholds, learned = _dwells(base, on, off, shapes)
    samples = sum(len(t.amps) for t in traces)
    return Calibration(kind, found, tuple(shapes), thresholds, samples, _notes(base, found, shapes), learned)


def _dwells(
    base: Thresholds, on: float, off: float, shapes: Sequence[CycleShape]
) -> tuple[Thresholds, tuple[str, ...]]:
    late = max(c.longest_late_quiet_s for c in shapes)
    early = max(c.longest_early_quiet_s for c in shapes)
    pulse = max(c.longest_pulse_after_s for c in shapes)
    off_dwell = max(base.off_dwell_s, _ceil_to(MARGIN * max(late, early), 30))
    changes: dict[str, float] = {"on_amps": on, "off_amps": off, "off_dwell_s": off_dwell}
    if pulse > 0:
        changes["restart_dwell_s"] = max(base.restart_dwell_s, _ceil_to(3 * pulse, 10))
        if base.resume_dwell_s > 0:
            changes["resume_dwell_s"] = max(base.resume_dwell_s, _ceil_to(2 * pulse, 10))
    return Thresholds.model_validate({**base.model_dump(), **changes}), tuple(changes)


def _notes(base: Thresholds, found: Levels, shapes: Sequence[CycleShape]) -> tuple[str, ...]:
    notes = []
    if found.running_amps - found.idle_amps < 0.15:
        notes.append("idle and running are close: watch this machine's first cycles")
    shortest = min(c.seconds for c in shapes)
    if base.min_cycle_s > shortest:
        notes.append(f"a cycle of {shortest / 60:.0f} min is shorter than min_cycle_s {base.min_cycle_s:.0f} s")
    return tuple(notes)
