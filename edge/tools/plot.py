"""A machine's current over a cycle, with the detector's states shaded: what a technician tunes by.

Thresholds are easier to judge against a picture than against JSON lines: a band per
detected state over the current shows at a glance where a pause was taken for an end.
``program_trace`` renders a program of ``firmware_sim/programs.py`` the same way, from
a minute before its start to well after its end (so anti-wrinkle pulses and the off
dwell show), to see how the defaults fare before any machine has been recorded.

matplotlib is an optional extra (``pip install 'kywash[tools]'``), kept off the Pi's
install; it is imported only in ``plot_trace``, with the Agg backend (no display).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from edge.thresholds import Thresholds
from edge.tools.replay import BOARD_PERIOD_S, StateChange
from edge.tools.trace import Trace
from firmware_sim.errors import UnknownProgramError
from firmware_sim.machines import MACHINE_KINDS, make_machine
from kywash.contract import MachineKind

LEAD_S = 60.0
TAIL_S = 40 * 60.0
"""Plotted after a program's end: the off dwell, the soak rule and a dryer's anti-wrinkle window."""
STATE_COLOURS = {
    "idle": "#e0e0e0",
    "running": "#9be29b",
    "paused": "#ffd27f",
    "finished": "#8ec5ff",
    "door_open": "#d9b3ff",
    "sensor_fault": "#ff9a9a",
}


class MatplotlibMissingError(ImportError):
    """The ``tools`` extra is not installed."""


def program_names(kind: MachineKind) -> list[str]:
    return sorted(MACHINE_KINDS[kind.value].programs)


def program_kind(name: str) -> MachineKind:
    """Washer unless only a dryer has the program, so ``plot heatpump`` needs no ``--type``."""
    if name not in MACHINE_KINDS["washer"].programs and name in MACHINE_KINDS["dryer"].programs:
        return MachineKind.DRYER
    return MachineKind.WASHER


def check_program_name(name: str) -> None:
    """Without a kind, an unknown name lists every kind's programs: the technician named no machine."""
    if all(name not in cls.programs for cls in MACHINE_KINDS.values()):
        known = "; ".join(f"{k}: {', '.join(sorted(cls.programs))}" for k, cls in sorted(MACHINE_KINDS.items()))
        raise UnknownProgramError(f"no program {name!r} (and no such file); programs are {known}")


def program_trace(kind: MachineKind, program: str, *, seed: int = 0, period: float = BOARD_PERIOD_S) -> Trace:
    """One run of ``program`` as the clamp would read it, sampled every ``period``."""
    machine = make_machine(kind.value, f"{kind.value}-plot", seed=seed)
    if program not in machine.programs:
        raise UnknownProgramError(f"{kind.value} has no program {program!r}; try one of {program_names(kind)}")
    machine.start(program, LEAD_S)
    end = (machine.cycle_end or LEAD_S) + TAIL_S
    times = tuple(k * period for k in range(int(end / period) + 1))
    return Trace(times, tuple(machine.current(t) for t in times))


def state_spans(start: float, end: float, changes: Sequence[StateChange]) -> list[tuple[float, float, str]]:
    """(from, to, state) bands covering ``start``..``end``; idle until the first change."""
    spans: list[tuple[float, float, str]] = []
    at, state = start, "idle"
    for change in changes:
        if change.state != state:
            spans.append((at, change.t_s, state))
            at, state = change.t_s, change.state
    spans.append((at, end, state))
    return [s for s in spans if s[1] > s[0]]


def plot_trace(
    trace: Trace, changes: Sequence[StateChange], thresholds: Thresholds, out: str | Path, *, title: str
) -> Path:
    """Draw the trace to ``out`` (PNG, SVG or PDF by its suffix) and return the path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError as exc:
        raise MatplotlibMissingError("matplotlib is missing: pip install 'kywash[tools]'") from exc
    minutes = [(t - trace.start) / 60 for t in trace.times]
    fig, ax = plt.subplots(figsize=(12, 4.5), dpi=100)
    try:
        seen: dict[str, Patch] = {}
        for begin, stop, state in state_spans(trace.start, trace.end, changes):
            colour = STATE_COLOURS.get(state, "#cccccc")
            ax.axvspan((begin - trace.start) / 60, (stop - trace.start) / 60, color=colour, alpha=0.6, lw=0)
            seen.setdefault(state, Patch(color=colour, alpha=0.6, label=state))
        ax.plot(minutes, trace.amps, color="#1f3b73", lw=0.8, label="current")
        ax.axhline(thresholds.on_amps, color="#c0392b", ls="--", lw=0.8, label=f"on {thresholds.on_amps} A")
        ax.axhline(thresholds.off_amps, color="#7f8c8d", ls=":", lw=0.8, label=f"off {thresholds.off_amps} A")
        ax.set_yscale("symlog", linthresh=0.1, linscale=0.5)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("minutes")
        ax.set_ylabel("RMS amps")
        ax.set_title(title)
        handles = [*ax.get_legend_handles_labels()[0], *seen.values()]
        ax.legend(handles=handles, loc="upper right", fontsize="small", ncol=2)
        fig.tight_layout()
        path = Path(out)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
