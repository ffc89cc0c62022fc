"""Current thresholds and dwell times that turn amps into machine states, with per-kind defaults.

Why the defaults are what they are (figures from published appliance measurements and
the issue trackers of open-source washer monitors, see docs/DESIGN):

* **Washer** — on 0.25 A / off 0.12 A. Standby is 0-10 W (< 0.05 A at 230 V) plus clamp
  noise, while a running washer idles between heating bursts at 40-100 W (0.17-0.43 A):
  0.12 A sits above standby and below that floor; 0.25 A is safely above noise, and the
  gap between the two is the hysteresis. Start after 10 s (fill valves and the first
  drum turns are sustained; a door-lock click is not). Paused after 60 s below off.
  Finished only after 480 s below off: soaks hold the drum still at standby draw for
  minutes mid-cycle, and the open-source monitors that wait 3-5 minutes still call
  those "done". Pre-soak programs hold the drum still for 15-18 minutes a few minutes
  after the start: a quiet stretch that begins before the cycle has run ``min_cycle_s``
  (15 min, the shortest real program) is taken for a soak and must last ``soak_dwell_s``
  (25 min) to count as the end (the door settles it sooner: a washer's door is locked
  while a program runs). Restart after finished needs 30 s of draw (a real new program
  fills and turns for longer). A washer resumes from a pause as soon as it draws again
  (``resume_dwell_s`` 0): nothing but a cycle makes a washer draw above 0.25 A.
* **Dryer** — on 0.5 A / off 0.3 A. The drum motor alone draws ~1 A, heating 4-20 A;
  mid-cycle dips to a few tens of watts (0.1-0.2 A) must read as paused, not off. Start
  after 30 s (a dryer never runs for less). Paused after 60 s, finished after 300 s
  below off (the cool-down tumble keeps it above off until it really ends).
  After the end many dryers tumble for 15-20 s every few minutes for up to an hour
  (anti-wrinkle): while paused a burst shorter than ``resume_dwell_s`` (60 s) is such a
  pulse and neither resumes the cycle nor restarts the off count, and once finished only
  ``restart_dwell_s`` (180 s) of continuous draw counts as a new cycle.
* **End signature** (both kinds) — the long off dwells alone put "finished" 5-8 minutes
  after the drum stops (the detection bench measured a median of 397 s over the program
  library). Every washer program ends with its final spin (drum motor and pump steadily at
  1.5-4.5 A, no heater: band 1.5-6 A for at least 60 s without a break; tumbling rests
  every 8-12 s and heating is at 10 A and more, so neither looks like it), and a dryer's
  with its cool-down tumble (motor only, 0.5-2.5 A, for at least 180 s; the thermostat's
  mid-cycle dips last 1-2 min). Quiet that begins within ``end_gap_s`` (60 s: a pump's
  run-on) of such a stretch is the end after ``end_dwell_s`` (40 s); soaks follow a
  tumble or a heating burst, never a spin, so they still need the long dwells.
  ``end_min_s = 0`` turns the rule off for a machine that pauses after a spin.
* **Automatic faults** — ``door_fault_dwell_s`` (60 s): current at or above ``on_amps``
  with the door open for that long (no washer or dryer runs so; a broken interlock or a
  door switch knocked off its magnet). ``max_cycle_s``: washer 5 h (the longest eco
  programs run just under 4 h), dryer 6 h (they run one to five hours). 0 turns either off.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kywash.contract import MachineKind


class FieldProblem(ValueError):  # noqa: N818 - a carrier for pydantic, not raised to users
    """A validation problem that belongs to one named field of the model that raised it.

    Pydantic reports a model-level check at the model's own location; carrying ``loc``
    lets the config loader name the offending field instead (``off_amps``).
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class Thresholds(BaseModel):
    """When current counts as running or off, and how long it must stay so."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_amps: float = Field(gt=0, le=100)
    off_amps: float = Field(ge=0, le=100)
    start_dwell_s: float = Field(ge=0)
    pause_dwell_s: float = Field(gt=0)
    off_dwell_s: float = Field(gt=0)
    restart_dwell_s: float = Field(ge=0)
    resume_dwell_s: float = Field(default=0.0, ge=0)
    min_cycle_s: float = Field(default=0.0, ge=0)
    soak_dwell_s: float = Field(default=0.0, ge=0)
    end_low_amps: float = Field(default=0.0, ge=0, le=100)
    end_high_amps: float = Field(default=0.0, ge=0, le=100)
    end_min_s: float = Field(default=0.0, ge=0)
    end_gap_s: float = Field(default=60.0, ge=0)
    end_dwell_s: float = Field(default=0.0, ge=0)
    door_fault_dwell_s: float = Field(default=60.0, ge=0)
    max_cycle_s: float = Field(default=0.0, ge=0)

    @property
    def has_end_signature(self) -> bool:
        """True when an end stretch (final spin, cool-down) shortens the wait for the end."""
        return self.end_min_s > 0 and self.end_dwell_s > 0 and self.end_high_amps > self.end_low_amps

    @model_validator(mode="after")
    def _consistent(self) -> Thresholds:
        if self.off_amps >= self.on_amps:
            raise FieldProblem(
                ("off_amps",), f"off_amps {self.off_amps} must be below on_amps {self.on_amps} (hysteresis)"
            )
        if self.pause_dwell_s > self.off_dwell_s:
            raise FieldProblem(
                ("pause_dwell_s",),
                f"pause_dwell_s {self.pause_dwell_s} must not exceed off_dwell_s {self.off_dwell_s}",
            )
        if self.min_cycle_s > 0 and self.soak_dwell_s < self.off_dwell_s:
            raise FieldProblem(
                ("soak_dwell_s",),
                f"soak_dwell_s {self.soak_dwell_s} must not be below off_dwell_s {self.off_dwell_s}",
            )
        if self.end_min_s > 0 and self.end_high_amps <= self.end_low_amps:
            raise FieldProblem(
                ("end_high_amps",),
                f"end_high_amps {self.end_high_amps} must be above end_low_amps {self.end_low_amps}",
            )
        if self.end_dwell_s > self.off_dwell_s:
            raise FieldProblem(
                ("end_dwell_s",), f"end_dwell_s {self.end_dwell_s} must not exceed off_dwell_s {self.off_dwell_s}"
            )
        return self

    def quiet_to_finish(self, ran_s: float | None, after_end_stretch: bool = False) -> float:
        """Quiet needed to call a cycle finished that ran ``ran_s`` before going quiet.

        ``after_end_stretch``: the quiet began within ``end_gap_s`` of the end of a stretch
        that looked like a program's last phase (see ``has_end_signature``).
        """
        if after_end_stretch and self.has_end_signature:
            return self.end_dwell_s
        if ran_s is not None and ran_s < self.min_cycle_s:
            return max(self.soak_dwell_s, self.off_dwell_s)
        return self.off_dwell_s

    def in_end_band(self, amps: float) -> bool:
        """``amps`` lies in the band of a program's last phase (``end_low_amps`` to ``end_high_amps``)."""
        return self.end_low_amps <= amps < self.end_high_amps

    def merged(self, overrides: ThresholdOverrides | None) -> Thresholds:
        """These thresholds with a machine's overrides applied (validated again)."""
        if overrides is None:
            return self
        changes = overrides.model_dump(exclude_none=True)
        return Thresholds.model_validate({**self.model_dump(), **changes})


class ThresholdOverrides(BaseModel):
    """Per-machine changes to its kind's thresholds; fields left out keep the kind's value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_amps: float | None = Field(default=None, gt=0, le=100)
    off_amps: float | None = Field(default=None, ge=0, le=100)
    start_dwell_s: float | None = Field(default=None, ge=0)
    pause_dwell_s: float | None = Field(default=None, gt=0)
    off_dwell_s: float | None = Field(default=None, gt=0)
    restart_dwell_s: float | None = Field(default=None, ge=0)
    resume_dwell_s: float | None = Field(default=None, ge=0)
    min_cycle_s: float | None = Field(default=None, ge=0)
    soak_dwell_s: float | None = Field(default=None, ge=0)
    end_low_amps: float | None = Field(default=None, ge=0, le=100)
    end_high_amps: float | None = Field(default=None, ge=0, le=100)
    end_min_s: float | None = Field(default=None, ge=0)
    end_gap_s: float | None = Field(default=None, ge=0)
    end_dwell_s: float | None = Field(default=None, ge=0)
    door_fault_dwell_s: float | None = Field(default=None, ge=0)
    max_cycle_s: float | None = Field(default=None, ge=0)


WASHER_THRESHOLDS: Final = Thresholds(
    on_amps=0.25,
    off_amps=0.12,
    start_dwell_s=10,
    pause_dwell_s=60,
    off_dwell_s=480,
    restart_dwell_s=30,
    min_cycle_s=900,
    soak_dwell_s=1500,
    end_low_amps=1.5,
    end_high_amps=6.0,
    end_min_s=60,
    end_gap_s=60,
    end_dwell_s=40,
    door_fault_dwell_s=60,
    max_cycle_s=5 * 3600,
)
DRYER_THRESHOLDS: Final = Thresholds(
    on_amps=0.5,
    off_amps=0.3,
    start_dwell_s=30,
    pause_dwell_s=60,
    off_dwell_s=300,
    restart_dwell_s=180,
    resume_dwell_s=60,
    end_low_amps=0.5,
    end_high_amps=2.5,
    end_min_s=180,
    end_gap_s=60,
    end_dwell_s=40,
    door_fault_dwell_s=60,
    max_cycle_s=6 * 3600,
)
DEFAULT_THRESHOLDS: Final = {MachineKind.WASHER: WASHER_THRESHOLDS, MachineKind.DRYER: DRYER_THRESHOLDS}


def _with_defaults(kind: MachineKind, value: Any) -> Any:
    """A partial ``[thresholds.<kind>]`` table keeps the kind's defaults for missing keys."""
    if isinstance(value, dict):
        return {**DEFAULT_THRESHOLDS[kind].model_dump(), **value}
    return value


class ThresholdsTable(BaseModel):
    """The ``[thresholds.washer]`` and ``[thresholds.dryer]`` tables of a room."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    washer: Thresholds = WASHER_THRESHOLDS
    dryer: Thresholds = DRYER_THRESHOLDS

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for kind in MachineKind:
                if kind.value in data:
                    data[kind.value] = _with_defaults(kind, data[kind.value])
        return data

    def for_kind(self, kind: MachineKind) -> Thresholds:
        return self.washer if kind is MachineKind.WASHER else self.dryer
