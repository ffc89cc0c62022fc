"""How full a room usually is by weekday and local hour: pure functions of its cycle history.

No I/O and no clock of its own: the caller passes the events, the time zone and the window.

- ``busy_intervals`` turns each machine's cycle events into busy intervals: a cycle runs
  from ``cycle_started`` to the machine's next ``cycle_finished``, ``cycle_interrupted``,
  ``sensor_fault`` or ``fault_detected`` (a fault means nobody can vouch for it running),
  or to its next start. Paused and ending count as busy (the machine is occupied). A
  ``cycle_continued`` (the cycle was not done after all) reopens the interval its
  ``cycle_finished`` closed, so the cycle counts from its start to its true end; without that
  interval it starts one. Every interval
  is capped at ``MAX_CYCLE`` of its machine type — the edge's default for calling a cycle
  ``cycle_too_long`` — and at ``now``, so an end the cloud never heard of (a lost event,
  an edge that went silent) costs at most one long cycle.
- ``busy_table`` gives, for each of the 168 (weekday, local hour) buckets, the share of the
  room's washers, dryers and all machines that were busy, averaged over the time the window
  actually covers in that bucket: busy machine-seconds / (machines x covered seconds). A
  machine busy for the whole window therefore counts 1/N of its type in every bucket, and a
  room younger than the window is averaged over the weeks it has existed, not diluted by
  weeks that have no data. A bucket the window never covers reads 0 with ``covered_s`` 0,
  which callers must show as "no data", never as quiet.
- ``quietest`` picks the quietest of the next 24 local hours (the current one first) among
  those that are quiet at all (below ``QUIET_SHARE`` busy) and have data: an hour that is
  usually half full is not "a quiet time", however much fuller the others are.

Local hours are found per UTC quarter hour (every time zone's offset today is a multiple
of 15 minutes, India's and Nepal's included), so hours that DST skips or repeats fall where
a wall clock would put them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from kywash.contract import EventType, MachineKind

QUARTER_S: Final = 900
HOURS_PER_WEEK: Final = 7 * 24
MAX_CYCLE: Final = {MachineKind.WASHER.value: timedelta(hours=5), MachineKind.DRYER.value: timedelta(hours=6)}
"""The longest a cycle counts: the edge's default ``max_cycle_s`` per machine type."""
LONGEST_CYCLE: Final = max(MAX_CYCLE.values())
STARTS: Final = frozenset({EventType.CYCLE_STARTED.value})
ENDS: Final = frozenset(
    {
        EventType.CYCLE_FINISHED.value,
        EventType.CYCLE_INTERRUPTED.value,
        EventType.SENSOR_FAULT.value,
        EventType.FAULT_DETECTED.value,
    }
)
QUIET_SHARE: Final = 0.25
"""Below this share of machines busy an hour is quiet (the chart's second level starts here)."""
CONTINUES: Final = frozenset({EventType.CYCLE_CONTINUED.value})
CYCLE_EVENTS: Final = STARTS | ENDS | CONTINUES
"""The only event types that start, end or reopen a busy interval (what the history query reads)."""


@dataclass(frozen=True, slots=True)
class CycleMark:
    """One stored edge event that starts or ends a cycle."""

    machine: str
    type: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class BusyInterval:
    machine: str
    kind: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class HourShare:
    """One (weekday, hour) bucket: the average share of machines busy, 0..1."""

    weekday: int
    """0 = Monday .. 6 = Sunday."""
    hour: int
    washers: float
    dryers: float
    all: float
    covered_s: float
    """How many seconds of the window fell in this bucket (0: no data, the shares mean nothing)."""


@dataclass(frozen=True, slots=True)
class BusyTable:
    hours: tuple[HourShare, ...]
    """168 buckets, Monday 00:00 first (index ``weekday * 24 + hour``)."""
    cycles: int
    """Busy intervals that overlap the window."""


@dataclass(frozen=True, slots=True)
class QuietHour:
    share: HourShare
    starts_at: datetime


def busy_intervals(marks: Iterable[CycleMark], kinds: Mapping[str, str], now: datetime) -> list[BusyInterval]:
    """Each machine's cycles (see the module docstring); ``marks`` of machines not in
    ``kinds`` (machine id -> type) are ignored. Marks are ordered by time, ties kept as given."""
    by_machine: dict[str, list[CycleMark]] = {}
    for mark in marks:
        if mark.machine in kinds:
            by_machine.setdefault(mark.machine, []).append(mark)
    intervals: list[BusyInterval] = []
    for machine, machine_marks in by_machine.items():
        kind = kinds[machine]
        cap = MAX_CYCLE.get(kind, LONGEST_CYCLE)
        started: datetime | None = None
        finished: BusyInterval | None = None  # the interval the last mark closed, if a cycle_finished did
        for mark in sorted(machine_marks, key=lambda m: m.ts):
            if mark.type in CONTINUES:
                if started is None and finished is not None and intervals and intervals[-1] is finished:
                    started = intervals.pop().start  # not done after all: the same cycle runs on
                elif started is None:
                    started = mark.ts
                finished = None
                continue
            finished = None
            if started is not None and (mark.type in ENDS or mark.type in STARTS):
                intervals.append(BusyInterval(machine, kind, started, min(mark.ts, started + cap, now)))
                if mark.type == EventType.CYCLE_FINISHED.value:
                    finished = intervals[-1]
                started = None
            if mark.type in STARTS:
                started = mark.ts
        if started is not None:
            intervals.append(BusyInterval(machine, kind, started, min(started + cap, now)))
    return [interval for interval in intervals if interval.end > interval.start]


def busy_table(
    intervals: Sequence[BusyInterval], counts: Mapping[str, int], tz: ZoneInfo, start: datetime, end: datetime
) -> BusyTable:
    """The 168-bucket table over the window ``[start, end)``; ``counts`` is machines per type."""
    quarters = _Quarters(start.timestamp(), end.timestamp(), tz)
    covered = quarters.spread([(quarters.start, quarters.end)])
    busy = {
        kind: quarters.spread(quarters.clip(a, b) for a, b in spans)
        for kind, spans in _merged_by_machine(intervals, counts).items()
    }
    cycles = sum(1 for i in intervals if counts.get(i.kind, 0) and quarters.overlaps(i.start, i.end))
    washers, dryers = counts.get(MachineKind.WASHER.value, 0), counts.get(MachineKind.DRYER.value, 0)
    total = sum(counts.values())
    hours = []
    for index in range(HOURS_PER_WEEK):
        cover = covered[index]
        busy_w = busy.get(MachineKind.WASHER.value, _ZEROS)[index]
        busy_d = busy.get(MachineKind.DRYER.value, _ZEROS)[index]
        busy_all = sum(values[index] for values in busy.values())
        hours.append(
            HourShare(
                weekday=index // 24,
                hour=index % 24,
                washers=_share(busy_w, washers, cover),
                dryers=_share(busy_d, dryers, cover),
                all=_share(busy_all, total, cover),
                covered_s=cover,
            )
        )
    return BusyTable(tuple(hours), cycles)


def quietest(table: BusyTable, tz: ZoneInfo, now: datetime, count: int = 3, horizon_hours: int = 24) -> list[QuietHour]:
    """The ``count`` quietest of the next ``horizon_hours`` local hours (the current one
    included), quietest first, sooner first among equals; buckets without data, and hours
    not quiet (``QUIET_SHARE`` or busier), are skipped, so the list may be empty."""
    upcoming: dict[int, tuple[int, datetime]] = {}
    for step in range(horizon_hours):
        local = (now + timedelta(hours=step)).astimezone(tz)
        index = local.weekday() * 24 + local.hour
        if index not in upcoming:
            upcoming[index] = (step, local.replace(minute=0, second=0, microsecond=0))
    candidates = [
        (table.hours[index].all, step, index, starts_at)
        for index, (step, starts_at) in upcoming.items()
        if table.hours[index].covered_s > 0 and table.hours[index].all < QUIET_SHARE
    ]
    candidates.sort(key=lambda c: (c[0], c[1]))
    return [QuietHour(table.hours[index], starts_at) for _, _, index, starts_at in candidates[:count]]


_ZEROS: Final = [0.0] * HOURS_PER_WEEK


class _Quarters:
    """The window cut at UTC quarter hours, each knowing its local (weekday, hour) bucket."""

    def __init__(self, start: float, end: float, tz: ZoneInfo) -> None:
        self.start, self.end = start, max(start, end)
        self.base = math.floor(start / QUARTER_S) * QUARTER_S
        count = math.ceil((self.end - self.base) / QUARTER_S)
        self.buckets = [_bucket(self.base + k * QUARTER_S, tz) for k in range(count)]

    def clip(self, a: float, b: float) -> tuple[float, float]:
        return max(a, self.start), min(b, self.end)

    def overlaps(self, a: datetime, b: datetime) -> bool:
        low, high = self.clip(a.timestamp(), b.timestamp())
        return high > low

    def spread(self, spans: Iterable[tuple[float, float]]) -> list[float]:
        """Seconds of ``spans`` (inside the window) per bucket."""
        totals = [0.0] * HOURS_PER_WEEK
        for low, high in spans:
            at, k = low, int((low - self.base) // QUARTER_S)
            while at < high:
                piece_end = min(high, self.base + (k + 1) * QUARTER_S)
                totals[self.buckets[k]] += piece_end - at
                at, k = piece_end, k + 1
        return totals


def _bucket(ts: float, tz: ZoneInfo) -> int:
    local = datetime.fromtimestamp(ts, tz)
    return local.weekday() * 24 + local.hour


def _merged_by_machine(
    intervals: Sequence[BusyInterval], counts: Mapping[str, int]
) -> dict[str, list[tuple[float, float]]]:
    """Per machine type, each machine's intervals with overlaps merged (a machine is busy or not)."""
    per_machine: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for interval in intervals:
        if counts.get(interval.kind, 0) and interval.end > interval.start:
            spans = per_machine.setdefault((interval.kind, interval.machine), [])
            spans.append((interval.start.timestamp(), interval.end.timestamp()))
    merged: dict[str, list[tuple[float, float]]] = {}
    for (kind, _), spans in per_machine.items():
        spans.sort()
        out = merged.setdefault(kind, [])
        low, high = spans[0]
        for a, b in spans[1:]:
            if a <= high:
                high = max(high, b)
            else:
                out.append((low, high))
                low, high = a, b
        out.append((low, high))
    return merged


def _share(busy_s: float, machines: int, covered_s: float) -> float:
    if machines <= 0 or covered_s <= 0:
        return 0.0
    return min(1.0, max(0.0, busy_s / (machines * covered_s)))
