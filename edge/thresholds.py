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
        return self

    def quiet_to_finish(self, ran_s: float | None) -> float:
        """Quiet needed to call a cycle finished that ran ``ran_s`` before going quiet."""
        if ran_s is not None and ran_s < self.min_cycle_s:
            return max(self.soak_dwell_s, self.off_dwell_s)
        return self.off_dwell_s

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


WASHER_THRESHOLDS: Final = Thresholds(
    on_amps=0.25,
    off_amps=0.12,
    start_dwell_s=10,
    pause_dwell_s=60,
    off_dwell_s=480,
    restart_dwell_s=30,
    min_cycle_s=900,
    soak_dwell_s=1500,
)
DRYER_THRESHOLDS: Final = Thresholds(
    on_amps=0.5,
    off_amps=0.3,
    start_dwell_s=30,
    pause_dwell_s=60,
    off_dwell_s=300,
    restart_dwell_s=180,
    resume_dwell_s=60,
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
