"""What a cycle detector learns about its own machine: its standby level and its cycles.

Pure: no I/O and no clock; the detector feeds it and asks it questions, the agent stores
and publishes it (``kywash.contract.MachineProfile``, retained, so a replaced Pi gets it
back from the broker or the cloud).

Why learn at all: a current threshold cannot tell a washer's soak (drum still, standby
draw, a quarter of an hour) from its end, nor a dryer's mid-cycle dip (a fan, about 24 W)
from the electronics left on after its drum stopped. A laundry room has what a smart plug
lacks: the history of every cycle each machine has run. From it:

* **standby** — the machine's own "off" level (0-0.05 A, different per machine), learned
  while it is idle or its door is open, so "low but above standby" (fan, electronics,
  drum stopped) is told apart from off;
* **timing** — how long its cycles take (per claim category when it has seen enough of
  one): a quiet stretch well before its shortest usual end is a pause, near it the end
  comes fast;
* **the look of its ends** — whether it settles at standby or stays a little above it
  (and at what level), and whether its end followed the kind's end signature (final spin,
  drop to standby); a machine whose signature ever misled it (``signature_pauses``)
  trusts the signature only near its usual end;
* **its pauses** — the longest quiet stretch it resumed from, which lengthens the wait
  for an end that has no other evidence (the learned pause limit).

The figures kept are a bounded list of recent cycles (a machine's programs change with
its users), so a profile stays small enough for one retained MQTT message.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Final

from kywash.clock import to_datetime
from kywash.contract import CycleRecord, MachineKind, MachineProfile

KEEP_CYCLES: Final = 30
"""Recent cycles kept per machine (fits a retained message with room to spare)."""
WARM_CYCLES: Final = 2
"""Finished cycles needed before timing and the look of the end are trusted."""
BEFORE_END_SHARE: Final = 0.75
"""A quiet stretch that begins before this share of the shortest usual cycle is a pause."""
NEAR_END_SHARE: Final = 0.9
"""From this share of the shortest usual cycle on, a quiet stretch that looks like an end is one."""
PAUSE_MARGIN: Final = 1.3
"""The learned pause limit: the longest pause seen times this, plus ``PAUSE_SLACK_S``."""
PAUSE_SLACK_S: Final = 60.0
TAIL_TOLERANCE_A: Final = 0.03
"""A low tail is the same as a learned one within this (plus 25 % of its level)."""
STANDBY_DOWN_WEIGHT: Final = 0.5
STANDBY_UP_WEIGHT: Final = 0.05
"""Share of a new quiet minute in the standby estimate: it follows a lower level within minutes
and a higher one only over hours, so a drum lamp lit while the door stands open, or a display
left on for a while, does not lift "off" to the level of a dryer's 24 W dip."""
STANDBY_MAX_A: Final = 0.08
"""A quiet minute above this is not standby (0-0.05 A plus a clamp's offset): never learned as such."""
STANDBY_STEP_A: Final = 0.005
"""The standby estimate moving by more than this is worth saving and publishing."""


@dataclass(frozen=True, slots=True)
class CycleFacts:
    """One finished cycle as the detector measured it (times on the agent's clock)."""

    duration_s: float
    energy_as: float
    longest_pause_s: float
    tail_a: float
    """The quiet level it settled at (0: not observed, the door ended it first)."""
    tail_low: bool
    end_signature: bool
    category: str | None
    ended_at: float

    def record(self) -> CycleRecord:
        return CycleRecord(
            duration_s=max(self.duration_s, 1.0),
            energy_as=max(self.energy_as, 0.0),
            longest_pause_s=max(self.longest_pause_s, 0.0),
            tail_a=min(max(self.tail_a, 0.0), 100.0),
            tail_low=self.tail_low,
            end_signature=self.end_signature,
            category=self.category,
            ended_at=to_datetime(self.ended_at),
        )

    @classmethod
    def of(cls, record: CycleRecord) -> CycleFacts:
        return cls(
            record.duration_s, record.energy_as, record.longest_pause_s, record.tail_a, record.tail_low,
            record.end_signature, record.category, record.ended_at.timestamp(),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Learned:
    """One machine's learned profile (immutable: every change makes a new one)."""

    standby: float | None = None
    learned: int = 0
    signature_pauses: int = 0
    cycles: tuple[CycleFacts, ...] = field(default=())

    @classmethod
    def empty(cls) -> Learned:
        return cls()

    # --- questions ----------------------------------------------------------------------

    @property
    def warm(self) -> bool:
        return len(self.cycles) >= WARM_CYCLES

    def _matching(self, category: str | None) -> list[CycleFacts]:
        """The cycles of the claim's category when there are enough of them, else all."""
        if category is not None:
            same = [c for c in self.cycles if c.category == category]
            if len(same) >= WARM_CYCLES:
                return same
        return list(self.cycles)

    def expected_duration(self, category: str | None = None, extra_minutes: int = 0) -> float | None:
        """The usual length of a cycle of ``category`` (median), with the claim's extra minutes."""
        cycles = self._matching(category)
        if not cycles:
            return None
        extra = 0.0 if category is not None and all(c.category == category for c in cycles) else extra_minutes * 60.0
        return statistics.median(c.duration_s for c in cycles) + extra

    def shortest(self, category: str | None = None, extra_minutes: int = 0) -> float | None:
        """The shortest usual cycle (None until warm): what "well before the end" is measured on."""
        if not self.warm:
            return None
        cycles = self._matching(category)
        extra = 0.0 if category is not None and all(c.category == category for c in cycles) else extra_minutes * 60.0
        return min(c.duration_s for c in cycles) + extra

    def timing(self, ran_s: float, category: str | None = None, extra_minutes: int = 0) -> str:
        """Where a cycle that ran ``ran_s`` before going quiet stands: cold, before, mid or near its end."""
        shortest = self.shortest(category, extra_minutes)
        if shortest is None:
            return "cold"
        if ran_s < BEFORE_END_SHARE * shortest:
            return "before"
        return "near" if ran_s >= NEAR_END_SHARE * shortest else "mid"

    def end_like(self, tail_low: bool, level: float, signature: bool) -> bool:
        """Most of this machine's observed ends looked like this quiet stretch does."""
        seen = [c for c in self.cycles if c.tail_a > 0]
        if len(seen) < WARM_CYCLES:
            return False
        alike = [c for c in seen if c.tail_low == tail_low and c.end_signature == signature]
        if tail_low:
            alike = [c for c in alike if abs(c.tail_a - level) <= TAIL_TOLERANCE_A + 0.25 * c.tail_a]
        return 2 * len(alike) > len(seen)

    def pause_limit(self, cold_limit_s: float) -> float:
        """Quiet needed to call an end that has no other evidence: longer than any pause it resumed from."""
        longest = max((c.longest_pause_s for c in self.cycles), default=0.0)
        return max(cold_limit_s, PAUSE_MARGIN * longest + PAUSE_SLACK_S) if longest > 0 else cold_limit_s

    # --- changes ------------------------------------------------------------------------

    def with_cycle(self, facts: CycleFacts) -> Learned:
        return replace(self, learned=self.learned + 1, cycles=(*self.cycles, facts)[-KEEP_CYCLES:])

    def without_last_cycle(self) -> Learned:
        """The last cycle was not finished after all (it continued): forget it; the detector
        counts the quiet stretch as a pause of the cycle that goes on."""
        return replace(self, cycles=self.cycles[:-1])

    def with_signature_pause(self) -> Learned:
        return replace(self, signature_pauses=self.signature_pauses + 1)

    def with_standby(self, quiet_mean: float) -> tuple[Learned, bool]:
        """A quiet minute's mean folded into the standby estimate; True if it moved enough to save
        (smaller moves still count, and are saved with the next change worth saving)."""
        if quiet_mean > STANDBY_MAX_A:
            return self, False
        old = self.standby
        weight = STANDBY_DOWN_WEIGHT if old is None or quiet_mean < old else STANDBY_UP_WEIGHT
        new = quiet_mean if old is None else old + weight * (quiet_mean - old)
        moved = old is None or abs(new - old) >= STANDBY_STEP_A
        return replace(self, standby=round(new, 4)), moved

    # --- the wire -----------------------------------------------------------------------

    def to_payload(self, machine: str, kind: MachineKind, now: float) -> MachineProfile:
        return MachineProfile(
            machine=machine,
            kind=kind,
            standby_a=self.standby,
            signature_pauses=self.signature_pauses,
            learned=self.learned,
            cycles=tuple(c.record() for c in self.cycles),
            ts=to_datetime(now),
        )

    @classmethod
    def from_payload(cls, payload: MachineProfile) -> Learned:
        return cls(
            standby=payload.standby_a,
            learned=max(payload.learned, len(payload.cycles)),
            signature_pauses=payload.signature_pauses,
            cycles=tuple(CycleFacts.of(r) for r in payload.cycles[-KEEP_CYCLES:]),
        )

    @classmethod
    def of_cycles(cls, cycles: Iterable[CycleFacts], standby: float | None = None) -> Learned:
        """A profile made of the given cycles (tests, calibrate)."""
        learned = cls(standby=standby)
        for facts in cycles:
            learned = learned.with_cycle(facts)
        return learned
