"""``kywash sim``: the simulator's tools for technicians — replay a recorded trace, plot a cycle.

``kywash sim replay TRACE.csv --type washer`` plays a ``t_s,amps`` trace through the board
emulator and a serial port into the edge's detector and prints one JSON line per state
change (``file``, ``t_s`` from the file's first sample, ``state``, ``event``, ``reason``).
``kywash sim replay A.csv B.csv ... --type washer [--state-dir DIR]`` plays several as one
machine, one detector learning as it goes, with the door opened and closed between files
(``edge.tools.learn``); at ``--speed 0`` they go straight into the detector, otherwise each
through the serial port in turn. ``--state-dir`` keeps the learned profile between runs in
``DIR/<machine or kind>.profile.json``. ``kywash sim plot PROGRAM|TRACE.csv --out trace.png``
draws the current with the detected states shaded. Thresholds come from ``--config`` (the
kind's table, or one machine's with ``--machine``) or the kind's defaults.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from edge.errors import EdgeError
from edge.thresholds import DEFAULT_THRESHOLDS, Thresholds
from firmware_sim.errors import SimulatorError
from firmware_sim.transports import TransportKind
from kywash.contract import MachineKind

KINDS = click.Choice([k.value for k in MachineKind])


def _thresholds(kind: MachineKind, config_path: Path | None, machine_id: str | None) -> Thresholds:
    if config_path is None:
        if machine_id is not None:
            raise click.UsageError("--machine needs --config")
        return DEFAULT_THRESHOLDS[kind]
    from edge.config import load_room_config
    from edge.errors import ConfigError

    try:
        config = load_room_config(config_path)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    if machine_id is None:
        return config.thresholds.for_kind(kind)
    try:
        machine = config.machine(machine_id)
    except KeyError:
        known = ", ".join(m.id for m in config.machines)
        raise click.BadParameter(f"no machine {machine_id!r} in {config_path}; it has {known}") from None
    return config.thresholds_for(machine)


def _fail(exc: Exception, code: int = 2) -> SystemExit:
    click.echo(f"error: {exc}", err=True)
    return SystemExit(code)


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Room TOML whose thresholds to use (default: the kind's defaults).",
)
machine_option = click.option("--machine", "machine_id", help="With --config: that machine's thresholds.")


@click.group("sim")
def sim_command() -> None:
    """Simulator tools: replay recorded traces, plot cycles."""


@sim_command.command("replay")
@click.argument("trace_paths", metavar="TRACE.csv...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))  # fmt: skip
@click.option("--type", "kind", type=KINDS, required=True, help="The machine the traces were recorded on.")
@config_option
@machine_option
@click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Load DIR/<machine or kind>.profile.json (what the machine learned) first and write it back after.",
)  # fmt: skip
@click.option(
    "--speed", type=click.FloatRange(min=0), default=0.0, show_default=True,
    help="Trace seconds per real second; 0 replays as fast as it goes (several files: straight into the detector).",
)  # fmt: skip
@click.option("--serial", type=click.Choice(["pty", "tcp"]), default="pty", show_default=True)
def replay_command(
    trace_paths: tuple[str, ...], kind: str, config_path: Path | None, machine_id: str | None,
    state_dir: Path | None, speed: float, serial: str,
) -> None:  # fmt: skip
    """Play recordings (CSV t_s,amps) into the detector, one after another as ONE machine.

    One JSON line per state change: file, t_s (seconds from that file's first sample),
    state, event, reason. Between files the door opens 1 s after the last sample and
    closes 30 s later; the next file starts 60 s after. One file (or --speed > 0) goes
    through the board emulator and a serial port; several at --speed 0 straight into
    the same detector.
    """
    import time

    from edge.detector import CycleDetector
    from edge.tools.learn import legs, load_profile, save_profile
    from edge.tools.trace import load_trace
    from firmware_sim.replay import replay_session

    machine_kind = MachineKind(kind)
    thresholds = _thresholds(machine_kind, config_path, machine_id)
    name = machine_id or machine_kind.value
    profile_path = None if state_dir is None else state_dir / f"{name}.profile.json"
    logging.getLogger("edge.sensors.board").setLevel(logging.WARNING)  # stdout is the JSON lines; keep stderr quiet
    try:
        learned = load_profile(profile_path, machine_kind) if profile_path and profile_path.exists() else None
        session = legs([(path, load_trace(path)) for path in trace_paths], end_at=time.time())
        detector = CycleDetector(machine_kind, thresholds, now=session[0].start, learned=learned)
        transport: TransportKind = "tcp" if serial == "tcp" else "pty"
        serially = len(session) == 1 or speed > 0
        for change in replay_session(detector, session, serial=serially, speed=speed, transport=transport):
            click.echo(json.dumps(change.line()))
        if profile_path is not None:
            save_profile(profile_path, detector.learned, name, machine_kind, time.time())
            click.echo(f"{name} has learned {detector.learned.learned} cycle(s); profile saved to {profile_path}",
                       err=True)  # fmt: skip
    except (SimulatorError, EdgeError) as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _fail(exc, 1) from None


@sim_command.command("plot")
@click.argument("source", metavar="PROGRAM|TRACE.csv")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Image to write (.png).")
@click.option("--type", "kind", type=KINDS, default=None, help="Machine kind (default: washer, or the program's).")
@config_option
@machine_option
@click.option("--seed", type=int, default=0, show_default=True, help="With PROGRAM: which run of it.")
def plot_command(
    source: str, out: Path, kind: str | None, config_path: Path | None, machine_id: str | None, seed: int
) -> None:
    """Draw a program's (or a trace's) current over the cycle, with the detected states shaded."""
    from edge.tools.trace import load_trace
    from firmware_sim.plot import MatplotlibMissingError, plot_trace, program_trace
    from firmware_sim.replay import detect

    machine_kind = MachineKind(kind) if kind else _kind_of(source)
    thresholds = _thresholds(machine_kind, config_path, machine_id)
    try:
        if Path(source).suffix.lower() == ".csv" or Path(source).is_file():
            trace, title = load_trace(source), f"{Path(source).name} ({machine_kind.value})"
        else:
            _check_program(source, kind)
            trace, title = program_trace(machine_kind, source, seed=seed), f"{machine_kind.value} {source}"
    except (SimulatorError, EdgeError) as exc:
        raise _fail(exc) from None
    changes = detect(trace, machine_kind, thresholds)
    try:
        path = plot_trace(trace, changes, thresholds, out, title=title)
    except MatplotlibMissingError:
        click.echo("error: plotting needs matplotlib: pip install 'kywash[tools]'", err=True)
        raise SystemExit(2) from None
    click.echo(f"wrote {path} ({len(changes)} state changes)")


def _kind_of(source: str) -> MachineKind:
    """Washer unless the program is a dryer's only."""
    from firmware_sim.machines import MACHINE_KINDS

    if source not in MACHINE_KINDS["washer"].programs and source in MACHINE_KINDS["dryer"].programs:
        return MachineKind.DRYER
    return MachineKind.WASHER


def _check_program(name: str, kind: str | None) -> None:
    """Without --type, an unknown name lists the programs of every kind."""
    from firmware_sim.machines import MACHINE_KINDS

    if kind is None and all(name not in cls.programs for cls in MACHINE_KINDS.values()):
        known = "; ".join(f"{k}: {', '.join(sorted(cls.programs))}" for k, cls in sorted(MACHINE_KINDS.items()))
        raise SimulatorError(f"no program {name!r} (and no such file); programs are {known}")
