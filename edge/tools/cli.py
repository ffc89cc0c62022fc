"""The technician's commands on the Pi: ``kywash edge record|calibrate|replay|plot``.

Added to the ``kywash edge`` group by ``edge/cli.py``. ``record`` and ``calibrate`` read
the board named in the room config (stop the agent first: a serial port has one reader).
``replay`` and ``plot`` run recordings (CSV ``t_s,amps``) back through the edge's own
detector, so a technician sees what the agent would have decided before touching a
threshold; they live here, not in the simulator, because what they exercise is the edge
(the simulator only lends its board emulator and programs, and is imported only when one
of them runs: the agent never loads it). A bad config, machine or file prints
``error: <message>`` and exits 2; a board that sends nothing exits 1.

``calibrate --profile-out PROFILE.json`` and ``replay A.csv B.csv ...`` both play the
recordings through one detector, one after another (``edge.tools.learn``), because the
profile it learns (standby, cycles), not hand-set thresholds, is what tells this
machine's ends from its pauses.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import click

from edge.config import RoomConfig, load_room_config
from edge.errors import ConfigError, EdgeError, HardwareError
from edge.thresholds import DEFAULT_THRESHOLDS, Thresholds
from edge.tools.calibrate import CalibrationError, calibrate
from edge.tools.learn import learn, legs, load_profile, save_profile
from edge.tools.record import machine_channel, record_cycles, record_trace
from edge.tools.trace import Trace, load_trace, write_trace
from kywash.contract import ContractError, MachineKind, check_id
from kywash.signals import stop_on_signals

KINDS = click.Choice([k.value for k in MachineKind])

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The room's TOML file (or give it to 'kywash edge --config').",
)  # fmt: skip
thresholds_config_option = click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Room TOML whose thresholds to use (or give it to 'kywash edge --config'; default: the kind's defaults).",
)  # fmt: skip
machine_option = click.option("--machine", "machine_id", help="With --config: that machine's thresholds.")


def _config(ctx: click.Context, path: Path | None) -> RoomConfig:
    path = path or (ctx.obj or {}).get("edge_config")
    if path is None:
        raise click.UsageError("--config is required")
    try:
        return load_room_config(path)
    except ConfigError as exc:
        raise _exit(exc, 2) from None


def _exit(exc: Exception, code: int) -> SystemExit:
    click.echo(f"error: {exc}", err=True)
    return SystemExit(code)


@click.command("record")
@config_option
@click.option("--machine", "machine_id", required=True, help="The machine whose current to record.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV to write (t_s,amps).")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop after this long.")
@click.pass_context
def record_command(
    ctx: click.Context, config_path: Path | None, machine_id: str, out: Path, seconds: float | None
) -> None:
    """Record one machine's current from the board as CSV (t_s,amps) until Ctrl-C or --seconds."""
    config = _config(ctx, config_path)
    try:
        machine_channel(config, machine_id)
        with stop_on_signals() as stop:
            count = record_trace(config, machine_id, out, seconds=seconds, stop=stop)
    except ConfigError as exc:
        raise _exit(exc, 2) from None
    except HardwareError as exc:
        raise _exit(exc, 1) from None
    click.echo(f"wrote {count} samples of {machine_id} to {out}", err=True)


def _thresholds(ctx: click.Context, kind: MachineKind, config_path: Path | None, machine_id: str | None) -> Thresholds:
    """The thresholds the agent would run this machine with, so a replay judges the real settings."""
    if config_path is None and (ctx.obj or {}).get("edge_config") is None:
        if machine_id is not None:
            raise click.UsageError("--machine needs --config")
        return DEFAULT_THRESHOLDS[kind]
    path = config_path or (ctx.obj or {}).get("edge_config")
    config = _config(ctx, path)
    if machine_id is None:
        return config.thresholds.for_kind(kind)
    try:
        machine = config.machine(machine_id)
    except KeyError:
        known = ", ".join(m.id for m in config.machines)
        raise click.BadParameter(f"no machine {machine_id!r} in {path}; it has {known}") from None
    return config.thresholds_for(machine)


@click.command("calibrate")
@config_option
@click.option("--machine", "machine_id", default=None, help="The machine to calibrate (its kind, its channel).")
@click.option("--type", "kind", type=click.Choice([k.value for k in MachineKind]), default=None,
              help="With --trace and no config: the machine's kind.")  # fmt: skip
@click.option("--cycles", type=click.IntRange(min=1), default=None, help="Record from the board until N cycles end.")
@click.option("--trace", "trace_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Learn from recorded traces instead (repeatable).")  # fmt: skip
@click.option("--max-hours", type=click.FloatRange(min=0, min_open=True), default=12.0, show_default=True,
              help="With --cycles: stop recording after this long.")  # fmt: skip
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --cycles: also write the recording as CSV.")  # fmt: skip
@click.option("--profile-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also learn the machine's profile from the recordings (played one after another "
                   "through one detector) and write it here as MachineProfile JSON.")  # fmt: skip
@click.pass_context
def calibrate_command(
    ctx: click.Context, config_path: Path | None, machine_id: str | None, kind: str | None, cycles: int | None,
    trace_paths: tuple[Path, ...], max_hours: float, save: Path | None, profile_out: Path | None,
) -> None:  # fmt: skip
    """Learn a machine's idle and running current and propose thresholds (a TOML snippet).

    With --profile-out, also learn its profile (standby, cycle lengths, the look of its
    ends) the way the edge does: learned profiles replace hand-set thresholds, which are
    only the rules for a machine the edge has not learned yet.
    """
    if bool(cycles) == bool(trace_paths):
        raise click.UsageError("give either --cycles N (record from the board) or --trace FILE (repeatable)")
    if profile_out is not None and machine_id is not None:
        try:
            check_id(machine_id, "machine")
        except ContractError as exc:
            raise click.BadParameter(str(exc), param_hint="--machine") from None
    try:
        machine_kind, traces, thresholds = _traces(ctx, config_path, machine_id, kind, cycles, trace_paths, max_hours)
        if save is not None and cycles:
            write_trace(save, zip(traces[0].times, traces[0].amps, strict=True))
        if profile_out is not None:
            names = [str(p) for p in trace_paths] or ["recording"]
            _learn_profile(list(zip(names, traces, strict=True)), machine_kind, thresholds, machine_id, profile_out)
        result = calibrate(traces, machine_kind)
    except CalibrationError as exc:
        if profile_out is None:
            raise _exit(exc, 2) from None
        click.echo(f"no threshold proposal: {exc}", err=True)  # the profile was the point
        return
    except ConfigError as exc:
        raise _exit(exc, 2) from None
    except (EdgeError, OSError) as exc:
        raise _exit(exc, 1) from None
    click.echo(result.to_toml(machine_id), nl=False)


def _learn_profile(
    recordings: list[tuple[str, Trace]], kind: MachineKind, thresholds: Thresholds, machine_id: str | None, out: Path
) -> None:
    detector, _ = learn(recordings, kind, thresholds, end_at=time.time())
    learned = detector.learned
    save_profile(out, learned, machine_id or kind.value, kind, time.time())
    minutes = ", ".join(f"{c.duration_s / 60:.1f}" for c in learned.cycles) or "none"
    standby = "not learned" if learned.standby is None else f"{learned.standby:.3f} A"
    click.echo(f"learned {learned.learned} cycle(s) ({minutes} min), standby {standby}: wrote {out}", err=True)


def _traces(
    ctx: click.Context, config_path: Path | None, machine_id: str | None, kind: str | None,
    cycles: int | None, trace_paths: tuple[Path, ...], max_hours: float,
) -> tuple[MachineKind, list[Trace], Thresholds]:  # fmt: skip
    """The machine's kind, its recordings, and the thresholds its detector runs with."""
    config = _config(ctx, config_path) if (config_path or cycles or (ctx.obj or {}).get("edge_config")) else None
    if config is not None and machine_id is not None:
        machine_channel(config, machine_id)
        machine_kind = config.machine(machine_id).kind
        thresholds = config.thresholds_for(config.machine(machine_id))
    elif kind is not None:
        machine_kind = MachineKind(kind)
        thresholds = config.thresholds.for_kind(machine_kind) if config else DEFAULT_THRESHOLDS[machine_kind]
    else:
        raise click.UsageError("name the machine (--config and --machine) or its kind (--type)")
    if not cycles:
        return machine_kind, [load_trace(path) for path in trace_paths], thresholds
    if config is None or machine_id is None:
        raise click.UsageError("--cycles reads the board: it needs --config and --machine")
    stop = threading.Event()
    with stop_on_signals(stop):
        click.echo(f"recording {machine_id} until {cycles} cycle(s) finish (Ctrl-C stops early)...", err=True)
        trace = record_cycles(config, machine_id, cycles, max_seconds=max_hours * 3600, stop=stop)
    return machine_kind, [trace], thresholds


@click.command("replay")
@click.argument("trace_paths", metavar="TRACE.csv...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))  # fmt: skip
@click.option("--type", "kind", type=KINDS, required=True, help="The machine the traces were recorded on.")
@thresholds_config_option
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
@click.pass_context
def replay_command(
    ctx: click.Context, trace_paths: tuple[str, ...], kind: str, config_path: Path | None, machine_id: str | None,
    state_dir: Path | None, speed: float, serial: str,
) -> None:  # fmt: skip
    """Play recordings (CSV t_s,amps) into the detector, one after another as ONE machine.

    One JSON line per state change: file, t_s (seconds from that file's first sample),
    state, event, reason. Between files the door opens 1 s after the last sample and
    closes 30 s later; the next file starts 60 s after. One file (or --speed > 0) goes
    through the board emulator and a serial port; several at --speed 0 straight into
    the same detector.
    """
    from edge.detector import CycleDetector
    from edge.tools.replay import replay_session

    machine_kind = MachineKind(kind)
    thresholds = _thresholds(ctx, machine_kind, config_path, machine_id)
    name = machine_id or machine_kind.value
    profile_path = None if state_dir is None else state_dir / f"{name}.profile.json"
    logging.getLogger("edge.sensors.board").setLevel(logging.WARNING)  # stdout is the JSON lines; keep stderr quiet
    try:
        learned = load_profile(profile_path, machine_kind) if profile_path and profile_path.exists() else None
        session = legs([(path, load_trace(path)) for path in trace_paths], end_at=time.time())
        detector = CycleDetector(machine_kind, thresholds, now=session[0].start, learned=learned)
        serially = len(session) == 1 or speed > 0
        changes = replay_session(
            detector, session, serial=serially, speed=speed, transport="tcp" if serial == "tcp" else "pty"
        )
        for change in changes:
            click.echo(json.dumps(change.line()))
        if profile_path is not None:
            save_profile(profile_path, detector.learned, name, machine_kind, time.time())
            click.echo(f"{name} has learned {detector.learned.learned} cycle(s); profile saved to {profile_path}",
                       err=True)  # fmt: skip
    except EdgeError as exc:
        raise _exit(exc, 2) from None
    except OSError as exc:
        raise _exit(exc, 1) from None


@click.command("plot")
@click.argument("source", metavar="PROGRAM|TRACE.csv")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Image to write (.png).")
@click.option("--type", "kind", type=KINDS, default=None, help="Machine kind (default: washer, or the program's).")
@thresholds_config_option
@machine_option
@click.option("--seed", type=int, default=0, show_default=True, help="With PROGRAM: which run of it.")
@click.pass_context
def plot_command(
    ctx: click.Context, source: str, out: Path, kind: str | None, config_path: Path | None, machine_id: str | None,
    seed: int,
) -> None:  # fmt: skip
    """Draw a program's (or a trace's) current over the cycle, with the detected states shaded."""
    from edge.tools.plot import MatplotlibMissingError, check_program_name, plot_trace, program_kind, program_trace
    from edge.tools.replay import detect
    from firmware_sim.errors import SimulatorError

    machine_kind = MachineKind(kind) if kind else program_kind(source)
    thresholds = _thresholds(ctx, machine_kind, config_path, machine_id)
    try:
        if Path(source).suffix.lower() == ".csv" or Path(source).is_file():
            trace, title = load_trace(source), f"{Path(source).name} ({machine_kind.value})"
        else:
            if kind is None:
                check_program_name(source)
            trace, title = program_trace(machine_kind, source, seed=seed), f"{machine_kind.value} {source}"
    except (SimulatorError, EdgeError) as exc:
        raise _exit(exc, 2) from None
    changes = detect(trace, machine_kind, thresholds)
    try:
        path = plot_trace(trace, changes, thresholds, out, title=title)
    except MatplotlibMissingError:
        click.echo("error: plotting needs matplotlib: pip install 'kywash[tools]'", err=True)
        raise SystemExit(2) from None
    click.echo(f"wrote {path} ({len(changes)} state changes)")
