"""The cycle detector: turns one machine's current and door readings into states and events.

Pure: no I/O, no threads, no clock of its own — every call passes the time in (seconds
on the agent's clock), so a day of a laundry room can be replayed in milliseconds. What
it learns about its machine (``edge.learning.Learned``) is an immutable value the agent
stores and publishes whenever ``learned_revision`` moves.

States (``kywash.contract.MachineState``) and what moves between them::

    idle ──active for start_dwell──▶ running ──quiet──▶ paused  (the profile says the end is far)
      ▲                               ▲   │      └───▶ ending  (it may be the end; not yet sure)
      │                               │   └────────── quiet for the needed time ──▶ finished
      │                   resume rule └── paused / ending                              │
      └── door closed ── door_open ◀── door opened                                     │
    finished ──active for restart_dwell, door still shut──▶ running (cycle_continued) ─┘

* "Active" is the median of the last five samples at or above ``on_amps``: a one-second
  spike is not activity, a tumble's 3-6 s rest is not quiet. Anything else is quiet, and
  a quiet stretch is *off* (at the machine's learned standby) or *low* (above it), judged
  on the mean of its samples (the clamp's noise is ~0.02 A; a minute's mean is steady).
* How much quiet makes a cycle ``finished`` is decided afresh on every sample from the
  evidence (``Thresholds`` docstring for the figures, ``edge.learning`` for the profile):
  the end signature (washer: final spins in the last minutes, then off; dryer: a drop
  straight to off), the machine's usual length (a quiet stretch well before its
  shortest usual end is a pause), and the look of its past ends (a dryer whose
  electronics stay on at 0.12 A after the drum stops). With evidence, ``end_dwell_s``
  (``learned_end_dwell_s`` when the profile agrees); without, the pause limit — longer
  than any soak or dip the kind has, or the machine has shown. Meanwhile the state is
  ``ending`` ("finishing", never "done") or ``paused`` (the profile says the end is far).
* A quiet stretch that starts before ``min_cycle_s`` is a pause whatever it looks like.
* In a pause a burst shorter than ``resume_dwell_s`` (a dryer's anti-wrinkle tumble) does
  not resume the cycle nor restart the quiet count. A resume after the signature was
  seen teaches the profile that the signature misled (``signature_pauses``).
* Once finished, only ``restart_dwell_s`` of continuous activity with the door shut counts
  (anti-wrinkle pulses never do). Within ``CONTINUE_WINDOW_S`` of the finish it means the
  cycle was not done after all: ``cycle_continued``, the same cycle runs on, and the
  profile forgets that cycle. Later, it is a new cycle (``restarted_door_closed``).
* No cycle starts with the door open (no washer or dryer runs so): the activity is
  counted, and the cycle starts as soon as the door is closed if it lasted ``start_dwell_s``.
* Opening the door of a quiet machine ends the cycle as *finished* (reason
  ``door_opened``): a washer's door is locked while a program runs and a dryer's drum
  turns throughout one. Opening it while active interrupts the cycle.
* ``sensor_fault`` overlays the cycle state when the agent reports the machine's current
  sensor silent; the next reading recovers it and dwell counts start afresh.
* Automatic faults (``fault_detected``, the state unchanged): activity with the door open
  for ``door_fault_dwell_s`` without a quiet break of ``pause_dwell_s`` (reason
  ``current_with_door_open``, once per episode); a cycle in progress for ``max_cycle_s``
  (reason ``cycle_too_long``, once per cycle). A value of 0 turns either check off.
* The machine's standby is learned from quiet minutes while it is idle, its door open, or
  finished and already at its standby level.
* Transitions are stamped with the moment their condition was confirmed (``now``);
  ``cycle_seconds`` of a finished cycle runs from its first active sample to the first
  sample of the final quiet stretch.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from typing import Final

from edge.learning import CycleFacts, Learned
from edge.thresholds import Thresholds
from kywash.contract import Door, EventType, MachineKind, MachineState

S = MachineState
IN_CYCLE: Final = frozenset({S.RUNNING, S.PAUSED, S.ENDING})

MEDIAN_OF: Final = 5
"""Samples whose median decides "active"."""
REST_HOLD_S: Final = 7.0
"""Activity ends only after the median has been quiet this long: a tumble rests 3-6 s."""
SETTLE_S: Final = 3.0
"""Samples this soon after the quiet began are left out of its level (the drop itself)."""
LEVEL_WINDOW_S: Final = 60.0
"""The quiet level is the mean of its samples over this long."""
LEVEL_SAMPLES: Final = 10
"""Samples needed before the quiet level (off or low) is trusted..."""
LEVEL_SLOW_SAMPLES: Final = 4
LEVEL_SLOW_SPAN_S: Final = 30.0
"""...or, from a board that samples slowly, this many spanning this long."""
SHOW_EVIDENCE_S: Final = 15.0
"""With end evidence, ``ending`` shows after this much quiet (else after ``pause_dwell_s``)."""
STANDBY_MINUTE: Final = 60
"""Quiet samples averaged into one standby observation."""
CONTINUE_WINDOW_S: Final = 3600.0
"""Activity this soon after ``finished`` (door still shut) continues that cycle."""
MAX_SAMPLE_GAP_S: Final = 5.0
"""A reading counts for at most this long (energy, spin time) after a gap in the readings."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One event: its type, the state it leads to and the facts at that moment."""

    type: EventType
    state: MachineState
    door: Door
    current: float
    at: float
    cycle_seconds: float | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DetectorSnapshot:
    """What the detector knows; enough to restore it after the agent restarts."""

    state: MachineState
    since: float
    door: Door
    current: float
    cycle_state: MachineState
    cycle_since: float
    cycle_started_at: float | None = None
    fault: str | None = None


@dataclass(frozen=True, slots=True)
class QuietLook:
    """What the quiet stretch in progress looks like, and what that makes of it."""

    level: float
    low: bool
    signature: bool
    need_s: float
    """Quiet needed to call it finished."""
    show: MachineState
    """``paused`` or ``ending``: what to say meanwhile."""
    show_after_s: float


class CycleDetector:
    """The state machine of one washer or dryer."""

    def __init__(
        self,
        kind: MachineKind,
        thresholds: Thresholds,
        *,
        now: float = 0.0,
        door: Door = Door.CLOSED,
        restore: DetectorSnapshot | None = None,
        learned: Learned | None = None,
    ) -> None:
        self.kind = kind
        self.thresholds = thresholds
        self.learned = learned if learned is not None else Learned.empty()
        self.learned_revision = 0
        self._prior: tuple[str | None, int] = (None, 0)
        self._now = now
        self._last_sample: float | None = None
        self._recent: deque[tuple[float, float]] = deque(maxlen=MEDIAN_OF)
        self._active = False
        self._active_since: float | None = None
        self._last_active_at: float | None = None
        self._after_last_active: float | None = None
        """The first sample after the last one at or above ``on_amps``: where a quiet stretch begins."""
        self._history: deque[tuple[float, float]] = deque(maxlen=16)
        self._quiet_since: float | None = None
        self._quiet_level: deque[tuple[float, float]] = deque()
        self._quiet_spin_s = 0.0
        self._burst_since: float | None = None
        self._band: deque[tuple[float, float]] = deque()
        self._energy = 0.0
        self._longest_pause = 0.0
        self._standby_minute: list[float] = []
        self._finished_at: float | None = None
        self._finished_started: float | None = None
        self._signature_shown = False
        self._learned_last = False
        """The last finish was learned as a cycle (so a continuation must take it back)."""
        self._open_draw_since: float | None = None
        self._open_quiet_since: float | None = None
        self._door_fault_sent = False
        self._too_long_sent = False
        if restore is None:
            restore = DetectorSnapshot(
                S.IDLE if door is Door.CLOSED else S.DOOR_OPEN, now, door, 0.0,
                S.IDLE if door is Door.CLOSED else S.DOOR_OPEN, now,
            )  # fmt: skip
        self._cycle = restore.cycle_state
        self._since = restore.cycle_since
        self._door = restore.door
        self._current = restore.current
        self._started_at = restore.cycle_started_at
        self._fault = restore.fault
        self._fault_since = restore.since
        self._restart_counts(now)

    # --- what it knows ------------------------------------------------------------------

    @property
    def snapshot(self) -> DetectorSnapshot:
        return DetectorSnapshot(
            S.SENSOR_FAULT if self._fault else self._cycle,
            self._fault_since if self._fault else self._since,
            self._door, self._current, self._cycle, self._since, self._started_at, self._fault,
        )  # fmt: skip

    @property
    def state(self) -> MachineState:
        return self.snapshot.state

    @property
    def cycle_started_at(self) -> float | None:
        return self._started_at if self._cycle in IN_CYCLE else None

    @property
    def expected_end(self) -> float | None:
        """When the cycle in progress should end, from the profile (and the claim's extra minutes)."""
        started = self.cycle_started_at
        if started is None:
            return None
        length = self.learned.expected_duration(*self._prior)
        return None if length is None else started + length

    @property
    def off_level(self) -> float:
        """Below this a quiet stretch is at the machine's standby (off)."""
        t = self.thresholds
        level = t.off_amps if self.learned.standby is None else self.learned.standby + t.standby_margin_amps
        return min(level, t.on_amps * 0.9)

    def set_prior(self, category: str | None, extra_minutes: int) -> None:
        """The live claim's category and extra minutes (from the cloud's desired state)."""
        self._prior = (category, max(int(extra_minutes), 0))

    def adopt(self, learned: Learned) -> bool:
        """Take a restored profile (from the broker or the cloud) if it knows more than ours."""
        ours = self.learned
        better = learned.learned > ours.learned or (
            learned.learned == ours.learned == 0 and ours.standby is None and learned.standby is not None
        )
        if better:
            self._learn(learned)
        return better

    # --- inputs -------------------------------------------------------------------------

    def on_current(self, now: float, amps: float) -> list[Transition]:
        """A current reading (RMS amps) taken at ``now``."""
        now = self._advance(now)
        amps = max(amps, 0.0)
        dt = min(now - self._last_sample, MAX_SAMPLE_GAP_S) if self._last_sample is not None else 1.0
        self._last_sample = now
        self._current = amps
        out: list[Transition] = []
        if self._fault:
            out.append(self._recover(now))
        self._track(now, amps, dt)
        self._track_open_draw(now)
        self._learn_standby(amps)
        out += self._evaluate(now)
        return out

    def on_door(self, now: float, door: Door) -> list[Transition]:
        """The debounced door state changed (or was re-read) at ``now``."""
        now = self._advance(now)
        if door is self._door:
            return []
        self._open_draw_since = self._open_quiet_since = None
        self._door_fault_sent = False
        quiet = self._cycle in (S.PAUSED, S.ENDING) or (self._cycle is S.RUNNING and self._quiet_since is not None)
        if door is Door.OPEN and quiet:
            finished = self._finish(now, reason="door_opened")
            self._door = door
            return [finished, self._move(now, S.DOOR_OPEN, EventType.DOOR_OPENED)]
        self._door = door
        if door is Door.CLOSED:
            return [self._door_closed(now)]
        if self._cycle in IN_CYCLE:
            seconds = None if self._started_at is None else now - self._started_at
            return [self._move(now, S.DOOR_OPEN, EventType.CYCLE_INTERRUPTED, seconds, "door_opened")]
        return [self._move(now, S.DOOR_OPEN, EventType.DOOR_OPENED)]

    def on_tick(self, now: float) -> list[Transition]:
        """Time passed without a reading: confirm the dwell conditions that came due."""
        now = self._advance(now)
        return [] if self._fault else self._evaluate(now)

    def on_sensor_fault(self, now: float, reason: str = "no_current_reading") -> list[Transition]:
        """The machine's current sensor went silent; the next ``on_current`` recovers."""
        now = self._advance(now)
        if self._fault:
            return []
        self._fault, self._fault_since = reason, now
        return [self._event(now, EventType.SENSOR_FAULT, reason=reason)]

    # --- sample bookkeeping -------------------------------------------------------------

    def _advance(self, now: float) -> float:
        """Readings from two threads may arrive slightly out of order: time never goes back."""
        self._now = max(self._now, now)
        return self._now

    def _restart_counts(self, now: float) -> None:
        """Forget partial dwell counts (after a restore or a sensor fault)."""
        self._recent.clear()
        self._history.clear()
        self._active = False
        self._active_since = self._burst_since = None
        self._last_active_at = self._after_last_active = None
        self._open_draw_since = self._open_quiet_since = None
        self._quiet_level.clear()
        self._quiet_since = now if self._cycle in (S.PAUSED, S.ENDING) else None
        self._last_sample = None

    def _recover(self, now: float) -> Transition:
        self._fault = None
        self._restart_counts(now)
        return self._event(now, EventType.SENSOR_RECOVERED)

    def _track(self, now: float, amps: float, dt: float) -> None:
        t = self.thresholds
        self._recent.append((now, amps))
        self._history.append((now, amps))
        self._track_activity(now, amps)
        cycle = self._cycle
        if cycle not in IN_CYCLE:
            return
        self._energy += amps * dt
        if t.needs_spin and t.in_end_band(amps):
            self._band.append((now, dt))
        while self._band and self._band[0][0] < now - t.end_window_s:
            self._band.popleft()
        if cycle is S.RUNNING:
            if self._active:
                self._quiet_since = None
            elif self._quiet_since is None:
                self._begin_quiet(now)
            else:
                self._add_quiet_sample(now, amps)
            return
        # paused or ending: activity is a burst until it has lasted resume_dwell_s
        if self._active:
            if self._burst_since is None:
                self._burst_since = self._active_since if self._active_since is not None else now
        else:
            self._burst_since = None
            self._add_quiet_sample(now, amps)

    def _track_activity(self, now: float, amps: float) -> None:
        """Active: the median of the last samples is; it stays so through a rest of up to ``REST_HOLD_S``."""
        on = self.thresholds.on_amps
        if amps >= on:
            self._after_last_active, self._last_active_at = None, now
        elif self._after_last_active is None:
            self._after_last_active = now
        was_active = self._active
        if statistics.median_low(a for _, a in self._recent) >= on:
            self._active = True
        elif was_active:
            last = self._last_active_at
            self._active = last is not None and now - last < REST_HOLD_S
        if self._active and not was_active:
            self._active_since = min((ts for ts, a in self._recent if a >= on), default=now)
        elif not self._active:
            self._active_since = None

    def _begin_quiet(self, now: float) -> None:
        after = self._after_last_active
        self._quiet_since = after if after is not None and after > now - REST_HOLD_S - MEDIAN_OF * 5 else now
        self._quiet_level.clear()
        start = self._quiet_since - self.thresholds.end_window_s
        self._quiet_spin_s = sum(dt for ts, dt in self._band if start <= ts <= self._quiet_since)
        self._signature_shown = False
        for ts, a in self._history:
            if ts >= self._quiet_since:
                self._add_quiet_sample(ts, a)

    def _add_quiet_sample(self, now: float, amps: float) -> None:
        if self._quiet_since is None or now - self._quiet_since < SETTLE_S or amps >= self.thresholds.on_amps:
            return
        self._quiet_level.append((now, amps))
        while self._quiet_level and self._quiet_level[0][0] < now - LEVEL_WINDOW_S:
            self._quiet_level.popleft()

    def _learn_standby(self, amps: float) -> None:
        quiet_state = self._cycle in (S.IDLE, S.DOOR_OPEN) or (self._cycle is S.FINISHED and amps < self.off_level)
        if not quiet_state or self._active or amps >= self.thresholds.on_amps:
            self._standby_minute.clear()
            return
        self._standby_minute.append(amps)
        if len(self._standby_minute) >= STANDBY_MINUTE:
            learned, moved = self.learned.with_standby(statistics.fmean(self._standby_minute))
            self._standby_minute.clear()
            if moved:
                self._learn(learned)
            else:
                self.learned = learned

    def _learn(self, learned: Learned) -> None:
        self.learned = learned
        self.learned_revision += 1

    def _track_open_draw(self, now: float) -> None:
        """Activity with the door open: counted until the machine is quiet for ``pause_dwell_s``."""
        if self._door is not Door.OPEN:
            return
        if self._active:
            self._open_quiet_since = None
            if self._open_draw_since is None:
                self._open_draw_since = now
        elif self._open_draw_since is not None:
            self._open_quiet_since = self._open_quiet_since if self._open_quiet_since is not None else now
            if now - self._open_quiet_since >= self.thresholds.pause_dwell_s:
                self._open_draw_since = self._open_quiet_since = None
                self._door_fault_sent = False

    # --- rules --------------------------------------------------------------------------

    def _faults(self, now: float) -> list[Transition]:
        t = self.thresholds
        out: list[Transition] = []
        draw = self._open_draw_since
        if (
            t.door_fault_dwell_s > 0
            and not self._door_fault_sent
            and draw is not None
            and self._open_quiet_since is None
            and now - draw >= t.door_fault_dwell_s
        ):
            self._door_fault_sent = True
            out.append(self._event(now, EventType.FAULT_DETECTED, reason="current_with_door_open"))
        started = self._started_at
        if (
            t.max_cycle_s > 0
            and not self._too_long_sent
            and self._cycle in IN_CYCLE
            and started is not None
            and now - started >= t.max_cycle_s
        ):
            self._too_long_sent = True
            out.append(self._event(now, EventType.FAULT_DETECTED, now - started, "cycle_too_long"))
        return out

    def _evaluate(self, now: float) -> list[Transition]:
        return self._cycle_rules(now) + self._faults(now)

    def _cycle_rules(self, now: float) -> list[Transition]:
        t = self.thresholds
        cycle = self._cycle
        if cycle in (S.IDLE, S.FINISHED):
            dwell = t.restart_dwell_s if cycle is S.FINISHED else t.start_dwell_s
            since = self._active_since
            if self._door is Door.CLOSED and since is not None and now - since >= dwell and self._active_now(now):
                return [self._start(now)]
            return []
        if cycle not in IN_CYCLE:
            return []
        burst = self._burst_since
        if cycle is not S.RUNNING and burst is not None:
            if self._active_now(now) and now - burst >= t.resume_dwell_s:
                return [self._resume(now, burst)]
            return []  # a pulse so far: neither resumes nor counts as quiet
        if self._quiet_since is None:
            return []
        look = self.quiet_look(now)
        quiet = now - self._quiet_since
        if quiet >= look.need_s:
            return [self._finish(now)]
        if quiet >= look.show_after_s and look.show is not cycle:
            if look.show is S.ENDING:
                self._signature_shown = self._signature_shown or look.signature
                return [self._move(now, S.ENDING, EventType.CYCLE_ENDING)]
            return [self._move(now, S.PAUSED, EventType.CYCLE_PAUSED)]
        return []

    def _level_known(self) -> bool:
        level = self._quiet_level
        if len(level) >= LEVEL_SAMPLES:
            return True
        return len(level) >= LEVEL_SLOW_SAMPLES and level[-1][0] - level[0][0] >= LEVEL_SLOW_SPAN_S

    def _active_now(self, now: float) -> bool:
        """Active, and seen so within a tumble's rest: a tick long after the last reading confirms nothing."""
        last = self._last_active_at
        return self._active and last is not None and now - last < REST_HOLD_S

    def quiet_look(self, now: float) -> QuietLook:
        """The evidence on the quiet stretch in progress (``_quiet_since`` must be set)."""
        t = self.thresholds
        quiet_since = self._quiet_since if self._quiet_since is not None else now
        samples = [a for _, a in self._quiet_level]
        known = self._level_known()
        level = statistics.fmean(samples) if samples else self._current
        low = not known or level >= self.off_level
        ran = quiet_since - (self._started_at if self._started_at is not None else quiet_since)
        category, extra = self._prior
        learned = self.learned
        timing = learned.timing(ran, category, extra)
        spun = not t.needs_spin or self._quiet_spin_s >= t.end_min_s
        signature = known and not low and spun
        trusted = signature and (learned.signature_pauses == 0 or timing == "near")
        alike = known and learned.end_like(low, level, signature)
        pause_limit = learned.pause_limit(t.off_dwell_s)
        if ran < t.min_cycle_s:
            return QuietLook(level, low, signature, pause_limit, S.PAUSED, t.pause_dwell_s)
        if trusted:
            need = t.learned_end_dwell_s if timing == "near" and alike else t.end_dwell_s
            return QuietLook(level, low, signature, need, S.ENDING, SHOW_EVIDENCE_S)
        if alike and timing == "near":
            return QuietLook(level, low, signature, t.end_dwell_s, S.ENDING, SHOW_EVIDENCE_S)
        show = S.PAUSED if timing == "before" else S.ENDING
        return QuietLook(level, low, signature, pause_limit, show, t.pause_dwell_s)

    def _start(self, now: float) -> Transition:
        finished_at, started = self._finished_at, self._finished_started
        continued = (
            self._cycle is S.FINISHED
            and finished_at is not None
            and started is not None
            and now - finished_at <= CONTINUE_WINDOW_S
        )
        if continued and started is not None and finished_at is not None:
            # the same cycle runs on: its energy, pauses and too-long fault carry over
            pause = max((self._active_since or now) - finished_at, 0.0)
            self._quiet_since = self._burst_since = None
            self._quiet_level.clear()
            self._finished_at = self._finished_started = None
            self._started_at = started
            if self._learned_last:
                self._learn(self.learned.without_last_cycle())
            self._longest_pause = max(self._longest_pause, pause)
            return self._move(now, S.RUNNING, EventType.CYCLE_CONTINUED, now - started, "current_after_finished")
        self._begin_cycle()
        reason = "restarted_door_closed" if self._cycle is S.FINISHED else None
        self._started_at = self._active_since if self._active_since is not None else now
        return self._move(now, S.RUNNING, EventType.CYCLE_STARTED, reason=reason)

    def _begin_cycle(self) -> None:
        self._quiet_since = self._burst_since = None
        self._quiet_level.clear()
        self._band.clear()
        self._energy = 0.0
        self._longest_pause = 0.0
        self._too_long_sent = False
        self._finished_at = self._finished_started = None

    def _resume(self, now: float, burst: float) -> Transition:
        quiet_since = self._quiet_since if self._quiet_since is not None else burst
        self._longest_pause = max(self._longest_pause, burst - quiet_since)
        if self._cycle is S.ENDING and self._signature_shown:
            self._learn(self.learned.with_signature_pause())
        self._quiet_since = self._burst_since = None
        self._quiet_level.clear()
        return self._move(now, S.RUNNING, EventType.CYCLE_RESUMED)

    def _finish(self, now: float, reason: str | None = None) -> Transition:
        end = self._quiet_since if self._quiet_since is not None else now
        started = self._started_at
        seconds = None if started is None else max(end - started, 0.0)
        # A door may end a cycle of any length (a student stopping it early); only one that ran
        # like a real program teaches the profile what this machine's cycles are.
        self._learned_last = (
            seconds is not None and seconds > 0 and (reason is None or seconds >= self.thresholds.min_cycle_s)
        )
        if self._learned_last and seconds is not None:
            look = self.quiet_look(now)
            observed = self._level_known()
            facts = CycleFacts(
                duration_s=seconds,
                energy_as=self._energy,
                longest_pause_s=self._longest_pause,
                tail_a=look.level if observed else 0.0,
                tail_low=look.low if observed else False,
                end_signature=look.signature,
                category=self._prior[0],
                ended_at=end,
            )
            self._learn(self.learned.with_cycle(facts))
        self._finished_at, self._finished_started = end, started
        self._quiet_since = self._burst_since = None
        self._quiet_level.clear()
        target = S.FINISHED if self._door is Door.CLOSED else S.DOOR_OPEN
        return self._move(now, target, EventType.CYCLE_FINISHED, seconds, reason)

    def _door_closed(self, now: float) -> Transition:
        if self._cycle is S.DOOR_OPEN:
            return self._move(now, S.IDLE, EventType.DOOR_CLOSED)
        return self._event(now, EventType.DOOR_CLOSED)

    def _move(
        self,
        now: float,
        state: MachineState,
        type_: EventType,
        cycle_seconds: float | None = None,
        reason: str | None = None,
    ) -> Transition:
        if state is not self._cycle:
            self._cycle, self._since = state, now
        if state in (S.DOOR_OPEN, S.IDLE):
            self._started_at = self._quiet_since = self._burst_since = None
            self._finished_at = self._finished_started = None
        return self._event(now, type_, cycle_seconds, reason)

    def _event(
        self, now: float, type_: EventType, cycle_seconds: float | None = None, reason: str | None = None
    ) -> Transition:
        return Transition(type_, self.state, self._door, self._current, now, cycle_seconds, reason)
