"""Current levels and dwell times that turn amps into machine states, with per-kind defaults.

These are the cold-start rules: what the detector does before it has learned a machine
(``edge.learning``). Learning only ever shortens the wait for an end it has evidence for,
or lengthens the wait past pauses it has seen; a machine with no history is never called
done early, it just waits longer. Why the defaults are what they are (published appliance
measurements, open-source washer monitors' trackers, and recordings of household machines):

* **Levels** — "active" is ``on_amps`` (washer 0.12 A, dryer 0.3 A), judged on the median
  of the last five samples so a one-second spike is not activity and a 3-6 s tumble rest
  is not quiet. Eco washers run long stretches at 45-70 W (0.19-0.30 A), so the washer's
  level sits below that and above every standby (0-0.05 A plus clamp offset and noise).
  A quiet stretch is then "off" (at the machine's standby: below standby +
  ``standby_margin_amps``) or "low" (above it: a fan, the electronics, a dryer's 24 W
  dip). Until the standby is learned, ``off_amps`` stands in for standby + margin.
* **Start** after ``start_dwell_s`` of activity (washer 10 s: fill valves and first drum
  turns are sustained, a door-lock click is not; dryer 90 s: longer than any anti-wrinkle
  tumble (20-60 s), so even a detector that missed the end never takes one for a cycle,
  and still well inside the 2 minutes a start may take to show). After ``finished`` with
  the door still shut only ``restart_dwell_s`` (washer 90 s, dryer 180 s) of continuous
  activity counts.
* **End signature** — what real ends look like and pauses do not. A washer's program ends
  with its final spins (``end_low_amps``..``end_high_amps``, 1.8-7 A: above a wash tumble,
  below the heater) and then drops to standby; a soak follows a long slow tumble (~0.4 A)
  or heating, never a spin. A spin counts when at least ``end_min_s`` (30 s, in pieces:
  real final spins are often shorter than a minute) of samples in the band fall within
  ``end_window_s`` (6 min) before the quiet. A dryer's end drops to standby
  (``end_min_s`` 0: no band needed), while its mid-cycle dips stay above it. With the
  signature, ``end_dwell_s`` of quiet (washer 60 s, dryer 40 s) is the end; when the
  machine's profile also says it is near its usual end, ``learned_end_dwell_s`` (30 s).
* **No evidence** — a quiet stretch without the signature (a washer at standby after a
  slow tumble, a dryer above standby) may be a soak or a dip: ``off_dwell_s`` (washer
  25 min: soaks last 14-17 min and more; dryer 18 min: dips last 11-13 min) or the
  learned pause limit, whichever is longer, before ``finished``. Meanwhile the machine is
  ``ending`` ("finishing"), or ``paused`` when its profile says the end is still far.
  A quiet stretch that starts before ``min_cycle_s`` (10 min) is always a pause.
* **Resume** — in a pause a washer resumes with any activity (``resume_dwell_s`` 0: nothing
  but a cycle makes it draw); a dryer needs 90 s, so an anti-wrinkle pulse during its
  ``ending`` neither resumes the cycle nor restarts the quiet count.
* **Automatic faults** — ``door_fault_dwell_s`` (60 s): activity with the door open for
  that long (a broken interlock or a door switch off its magnet). ``max_cycle_s``: washer
  5 h (the longest programs run 3.5 h), dryer 6 h (they run one to five hours). 0 turns
  either off.
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
    standby_margin_amps: float = Field(default=0.03, gt=0, le=1)
    min_cycle_s: float = Field(default=600.0, ge=0)
    end_low_amps: float = Field(default=0.0, ge=0, le=100)
    end_high_amps: float = Field(default=0.0, ge=0, le=100)
    end_min_s: float = Field(default=0.0, ge=0)
    end_window_s: float = Field(default=360.0, ge=0)
    end_dwell_s: float = Field(gt=0)
    learned_end_dwell_s: float = Field(default=30.0, gt=0)
    door_fault_dwell_s: float = Field(default=60.0, ge=0)
    max_cycle_s: float = Field(default=0.0, ge=0)

    @property
    def needs_spin(self) -> bool:
        """True when the end signature needs a stretch in the end band (washers' final spin)."""
        return self.end_min_s > 0

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
        if self.end_min_s > 0 and self.end_high_amps <= self.end_low_amps:
            raise FieldProblem(
                ("end_high_amps",),
                f"end_high_amps {self.end_high_amps} must be above end_low_amps {self.end_low_amps}",
            )
        if self.end_dwell_s > self.off_dwell_s:
            raise FieldProblem(
                ("end_dwell_s",), f"end_dwell_s {self.end_dwell_s} must not exceed off_dwell_s {self.off_dwell_s}"
            )
        if self.learned_end_dwell_s > self.end_dwell_s:
            raise FieldProblem(
                ("learned_end_dwell_s",),
                f"learned_end_dwell_s {self.learned_end_dwell_s} must not exceed end_dwell_s {self.end_dwell_s}",
            )
        return self

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
    standby_margin_amps: float | None = Field(default=None, gt=0, le=1)
    min_cycle_s: float | None = Field(default=None, ge=0)
    end_low_amps: float | None = Field(default=None, ge=0, le=100)
    end_high_amps: float | None = Field(default=None, ge=0, le=100)
    end_min_s: float | None = Field(default=None, ge=0)
    end_window_s: float | None = Field(default=None, ge=0)
    end_dwell_s: float | None = Field(default=None, gt=0)
    learned_end_dwell_s: float | None = Field(default=None, gt=0)
    door_fault_dwell_s: float | None = Field(default=None, ge=0)
    max_cycle_s: float | None = Field(default=None, ge=0)


WASHER_THRESHOLDS: Final = Thresholds(
    on_amps=0.12,
    off_amps=0.08,
    start_dwell_s=10,
    pause_dwell_s=60,
    off_dwell_s=1500,
    restart_dwell_s=90,
    min_cycle_s=600,
    end_low_amps=1.8,
    end_high_amps=7.0,
    end_min_s=30,
    end_window_s=360,
    end_dwell_s=60,
    learned_end_dwell_s=30,
    door_fault_dwell_s=60,
    max_cycle_s=5 * 3600,
)
DRYER_THRESHOLDS: Final = Thresholds(
    on_amps=0.3,
    off_amps=0.08,
    start_dwell_s=90,
    pause_dwell_s=60,
    off_dwell_s=1080,
    restart_dwell_s=180,
    resume_dwell_s=90,
    min_cycle_s=600,
    end_min_s=0,
    end_dwell_s=40,
    learned_end_dwell_s=30,
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
