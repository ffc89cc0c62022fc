"""The cycle detector: turns one machine's current and door readings into states and events.

Pure: no I/O, no threads, no clock of its own — every call passes the time in (seconds
on the agent's clock), so a day of a laundry room can be replayed in milliseconds.

States (``kywash.contract.MachineState``) and what moves between them::

    idle ──current ≥ on for start_dwell──▶ running ◀──current ≥ on (resume rule)── paused
      ▲                                     │  └──────current < off for pause_dwell─────▲
      │                                     └──── < off for off_dwell (from either) ──▶ finished
      └── door closed ── door_open ◀── door opened (idle, finished: door_opened;
                                                    running: cycle_interrupted;
                                                    quiet: cycle_finished + door_opened)
    finished ──current ≥ on for restart_dwell (door still closed)──▶ running (new cycle)

* Hysteresis: "above" means ``amps >= on_amps``, "below" means ``amps < off_amps``;
  in between, a running machine stays running and an idle one stays idle.
* No cycle starts with the door open (no washer or dryer runs so): the draw is counted,
  and the cycle starts as soon as the door is closed if it has lasted ``start_dwell_s``.
  So ``door_closed`` always comes before ``cycle_started``, however late the door's
  debounce reports it.
* While paused, a burst of current shorter than ``resume_dwell_s`` is a pulse (a dryer's
  anti-wrinkle tumble): it neither resumes the cycle nor restarts the off count. With
  ``resume_dwell_s`` 0 (washers) any sample above ``on_amps`` resumes at once.
* Once finished, only ``restart_dwell_s`` of continuous draw starts a new cycle, so
  anti-wrinkle pulses after the end never look like one.
* A quiet stretch that starts before the cycle has run ``min_cycle_s`` is a soak: it
  needs ``soak_dwell_s`` rather than ``off_dwell_s`` to count as the end.
* Opening the door of a quiet machine (paused, or running but below ``off_amps`` now)
  ends the cycle as *finished*, not interrupted: a washer's door is locked while a
  program runs and a dryer's drum turns throughout one, so a quiet machine whose door
  opens had completed its program; the off dwell only waited to be sure. Opening it
  while it draws current interrupts the cycle.
* ``sensor_fault`` overlays the cycle state when the agent reports the machine's current
  sensor silent (``on_sensor_fault``): the sensors no longer back any claim about the
  cycle. Door events still count. The next reading recovers it (``sensor_recovered``,
  back to the cycle state) and dwell counts start afresh.
* End signature: every washer program ends with its final spin, and a dryer's with its
  cool-down tumble. When the draw stayed in ``end_low_amps``..``end_high_amps`` for
  ``end_min_s`` without a break and the machine goes quiet within ``end_gap_s`` after
  that stretch, ``end_dwell_s`` of quiet is enough to call the end (rather than
  ``off_dwell_s``): that is what keeps the wait after the true end under a minute, while
  a soak (which follows a tumble or a heating burst, never a spin) still needs the long
  wait. A dryer's mid-cycle thermostat dips (motor only for 1-2 min) are shorter than a
  cool-down and do not count.
* Automatic faults (``fault_detected``, the state unchanged): current at or above
  ``on_amps`` with the door open, without a quiet break of ``pause_dwell_s``, for
  ``door_fault_dwell_s`` (reason ``current_with_door_open``, once per episode); a cycle
  running or paused for ``max_cycle_s`` since its start (reason ``cycle_too_long``, once
  per cycle). A value of 0 turns either check off.
* Transitions are stamped with the moment their condition was confirmed (``now``);
  ``cycle_seconds`` of a finished cycle runs from the first sample above ``on_amps`` to
  the first sample of the final quiet stretch.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.thresholds import Thresholds
from kywash.contract import Door, EventType, MachineKind, MachineState

S = MachineState


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
    ) -> None:
        self.kind = kind
        self.thresholds = thresholds
        self._now = now
        self._above_since: float | None = None
        self._below_since: float | None = None
        self._burst_since: float | None = None
        self._band_since: float | None = None
        self._end_stretch_at: float | None = None
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

    # --- inputs -------------------------------------------------------------------------

    def on_current(self, now: float, amps: float) -> list[Transition]:
        """A current reading (RMS amps) taken at ``now``."""
        now = self._advance(now)
        self._current = max(amps, 0.0)
        out: list[Transition] = []
        if self._fault:
            out.append(self._recover(now))
        self._track(now, self._current)
        self._track_open_draw(now, self._current)
        out += self._evaluate(now)
        return out

    def on_door(self, now: float, door: Door) -> list[Transition]:
        """The debounced door state changed (or was re-read) at ``now``."""
        now = self._advance(now)
        if door is self._door:
            return []
        self._open_draw_since = self._open_quiet_since = None
        self._door_fault_sent = False
        quiet = self._cycle is S.PAUSED or (self._cycle is S.RUNNING and self._below_since is not None)
        if door is Door.OPEN and quiet:
            finished = self._finish(now, reason="door_opened")
            self._door = door
            return [finished, self._move(now, S.DOOR_OPEN, EventType.DOOR_OPENED)]
        self._door = door
        if door is Door.CLOSED:
            return [self._door_closed(now)]
        if self._cycle in (S.RUNNING, S.PAUSED):
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

    # --- internals ----------------------------------------------------------------------

    def _advance(self, now: float) -> float:
        """Readings from two threads may arrive slightly out of order: time never goes back."""
        self._now = max(self._now, now)
        return self._now

    def _restart_counts(self, now: float) -> None:
        """Forget partial dwell counts (after a restore or a sensor fault)."""
        self._above_since = self._burst_since = None
        self._band_since = self._end_stretch_at = None
        self._open_draw_since = self._open_quiet_since = None
        self._below_since = now if self._cycle is S.PAUSED else None

    def _recover(self, now: float) -> Transition:
        self._fault = None
        self._restart_counts(now)
        return self._event(now, EventType.SENSOR_RECOVERED)

    def _track(self, now: float, amps: float) -> None:
        t = self.thresholds
        above, below = amps >= t.on_amps, amps < t.off_amps
        self._above_since = (self._above_since if self._above_since is not None else now) if above else None
        if self._cycle in (S.RUNNING, S.PAUSED) and t.has_end_signature:
            if t.in_end_band(amps):
                self._band_since = self._band_since if self._band_since is not None else now
                if now - self._band_since >= t.end_min_s:
                    self._end_stretch_at = now
            else:
                self._band_since = None
        if self._cycle is S.RUNNING:
            self._below_since = (self._below_since if self._below_since is not None else now) if below else None
        elif self._cycle is S.PAUSED:
            if not below:
                self._burst_since = self._burst_since if self._burst_since is not None else now
            elif self._burst_since is not None:
                if now - self._burst_since >= t.resume_dwell_s:  # real activity, not a pulse
                    self._below_since = now
                self._burst_since = None

    def _track_open_draw(self, now: float, amps: float) -> None:
        """Draw with the door open: counted until the machine is quiet for ``pause_dwell_s``."""
        t = self.thresholds
        if self._door is not Door.OPEN:
            return
        if amps >= t.on_amps:
            self._open_quiet_since = None
            if self._open_draw_since is None:
                self._open_draw_since = now
        elif amps < t.off_amps and self._open_draw_since is not None:
            self._open_quiet_since = self._open_quiet_since if self._open_quiet_since is not None else now
            if now - self._open_quiet_since >= t.pause_dwell_s:
                self._open_draw_since = self._open_quiet_since = None
                self._door_fault_sent = False

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
            and self._cycle in (S.RUNNING, S.PAUSED)
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
            if self._above_since is not None and now - self._above_since >= dwell:
                return [self._start(now)]
        elif cycle is S.RUNNING and self._below_since is not None:
            quiet = now - self._below_since
            if quiet >= self._quiet_to_finish():
                return [self._finish(now)]
            if quiet >= t.pause_dwell_s:
                return [self._move(now, S.PAUSED, EventType.CYCLE_PAUSED)]
        elif cycle is S.PAUSED:
            burst = self._burst_since
            if burst is not None and self._current >= t.on_amps and now - burst >= t.resume_dwell_s:
                self._below_since = self._burst_since = None
                return [self._move(now, S.RUNNING, EventType.CYCLE_RESUMED)]
            if burst is None and self._below_since is not None and now - self._below_since >= self._quiet_to_finish():
                return [self._finish(now)]
        return []

    def _start(self, now: float) -> Transition:
        reason = "restarted_door_closed" if self._cycle is S.FINISHED else None
        self._started_at = self._above_since
        self._below_since = self._burst_since = None
        self._band_since = self._end_stretch_at = None
        self._too_long_sent = False
        return self._move(now, S.RUNNING, EventType.CYCLE_STARTED, reason=reason)

    def _quiet_to_finish(self) -> float:
        ran = None
        if self._started_at is not None and self._below_since is not None:
            ran = self._below_since - self._started_at
        end, quiet = self._end_stretch_at, self._below_since
        after_end = end is not None and quiet is not None and quiet - end <= self.thresholds.end_gap_s
        return self.thresholds.quiet_to_finish(ran, after_end)

    def _finish(self, now: float, reason: str | None = None) -> Transition:
        end = self._below_since if self._below_since is not None else now
        seconds = None if self._started_at is None else max(end - self._started_at, 0.0)
        self._started_at = self._above_since = self._below_since = self._burst_since = None
        self._band_since = self._end_stretch_at = None
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
            self._started_at = self._below_since = self._burst_since = None
            self._band_since = self._end_stretch_at = None
        return self._event(now, type_, cycle_seconds, reason)

    def _event(
        self, now: float, type_: EventType, cycle_seconds: float | None = None, reason: str | None = None
    ) -> Transition:
        return Transition(type_, self.state, self._door, self._current, now, cycle_seconds, reason)
