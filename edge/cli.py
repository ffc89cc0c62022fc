"""``kywash edge``: run a laundry room's agent until SIGINT/SIGTERM, or show its status.

The top-level ``kywash`` command adds ``edge_command`` as its ``edge`` group. Run without
a subcommand, ``--config`` is required; ``--simulate`` runs a room simulator in-process
on gpiozero's mock pins and a pty, at ``--speed`` times real time. The edge never imports
the simulator (a Pi runs without it): the ``kywash`` command installs one with
``install_simulator`` (``launchers/edge_simulator.py``). A bad config prints
``error: <message>`` and exits 2, without a traceback.

For fault-injection runs (tests/chaos/), ``--seed`` seeds the simulator, ``--student-rate``
sets its students' arrivals per hour, ``--truth-log PATH`` keeps its ground truth as an
fsync'd JSON-lines file that survives a SIGKILL (a restart appends a ``restarted`` line),
and ``--sim-epoch T`` anchors the simulated clock: it reads ``T`` (or ``--sim-start S``) at
the real moment ``T`` and runs ``--speed`` times faster since, so an edge restarted mid-run
carries on the same simulated timeline instead of going back in time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import click

from edge.agent import EdgeAgent
from edge.config import RoomConfig, load_room_config
from edge.errors import ConfigError, EdgeError
from edge.status_report import format_stored_status
from kywash.clock import Clock, ScaledClock, SystemClock
from kywash.signals import stop_on_signals, wait

log = logging.getLogger(__name__)


def _load(path: Path | None) -> RoomConfig:
    if path is None:
        raise click.UsageError("--config is required")
    try:
        return load_room_config(path)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


@dataclass(frozen=True)
class SimOptions:
    """How ``--simulate`` runs the simulator (defaults: as before these options existed)."""

    seed: int = 0
    student_rate: float | None = None
    truth_log: Path | None = None
    epoch: float | None = None
    start: float | None = None
    """The simulated time at ``epoch`` (default: ``epoch`` itself; without an epoch: at start-up)."""


class Simulator(Protocol):
    """What ``--simulate`` needs of a room simulator: a serial URL for the board, a start and a close."""

    serial_url: str

    def start(self) -> None: ...

    def close(self) -> None: ...


SimulatorFactory = Callable[[RoomConfig, Clock, Any, SimOptions], Simulator]
"""Builds the simulator wired like the config, on this clock and this mock pin factory."""

_installed: dict[str, SimulatorFactory] = {}
_NO_SIMULATOR = "--simulate needs a room simulator: run the agent as `kywash edge --simulate`"


def install_simulator(factory: SimulatorFactory) -> None:
    """Let ``--simulate`` run the simulator ``factory`` builds (the launchers install ``firmware_sim``'s)."""
    _installed["simulator"] = factory


def _simulator(config: RoomConfig, clock: Clock, factory: Any, options: SimOptions | None = None) -> Simulator:
    make = _installed.get("simulator")
    if make is None:
        raise click.UsageError(_NO_SIMULATOR)
    return make(config, clock, factory, options or SimOptions())


def _sim_clock(speed: float, options: SimOptions | None) -> ScaledClock:
    """A scaled clock; anchored at ``options.epoch`` (see the module doc) when one is given."""
    epoch, start = (options.epoch, options.start) if options else (None, None)
    if epoch is None:
        return ScaledClock(speed, start=start)
    return ScaledClock(speed, start=(epoch if start is None else start) + (time.time() - epoch) * speed)


def run_agent(
    config: RoomConfig,
    *,
    simulate: bool = False,
    speed: float = 1.0,
    stop: threading.Event | None = None,
    sim: SimOptions | None = None,
) -> None:
    """Run the agent (and the simulator) until ``stop`` is set or a signal arrives."""
    stop = stop or threading.Event()
    # Signals are handled until everything is closed: a second Ctrl-C must not cut the cleanup short.
    with stop_on_signals(stop), ExitStack() as stack:
        clock: Clock = SystemClock()
        factory: Any = None
        simulator: Simulator | None = None
        if simulate:
            from gpiozero.pins.mock import MockFactory

            clock, factory = _sim_clock(speed, sim), MockFactory()
            simulator = _simulator(config, clock, factory, sim)
            stack.callback(simulator.close)
            board = config.board.model_copy(update={"url": simulator.serial_url})
            config = config.model_copy(update={"board": board})
        agent = EdgeAgent(config, clock=clock, pin_factory=factory)
        stack.callback(agent.close)
        if simulator is not None:
            simulator.start()  # after the agent's Buttons exist: creating one resets a mock pin
        agent.start()
        wait(stop)
        log.info("stopping the edge agent")


@click.group("edge", invoke_without_command=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The room's TOML file (see edge/room.example.toml).",
)
@click.option("--simulate", is_flag=True, help="Run the room simulator in-process (mock GPIO pins, a pty).")
@click.option("--speed", type=float, default=None, help="With --simulate: simulated time runs this much faster.")
@click.option("--seed", type=int, default=None, help="With --simulate: the simulator's seed (default 0).")
@click.option(
    "--student-rate", type=click.FloatRange(min=0), default=None, help="With --simulate: student arrivals per hour."
)
@click.option(
    "--truth-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --simulate: append the simulator's ground truth to this JSON-lines file (fsync'd).",
)
@click.option(
    "--sim-epoch",
    type=float,
    default=None,
    help="With --simulate: the simulated clock reads this Unix time at that real moment (restarts keep one timeline).",
)
@click.option(
    "--sim-start",
    type=float,
    default=None,
    help="With --simulate: the simulated time (Unix) at --sim-epoch, or at start-up without one.",
)
@click.pass_context
def edge_command(
    ctx: click.Context,
    config_path: Path | None,
    simulate: bool,
    speed: float | None,
    seed: int | None,
    student_rate: float | None,
    truth_log: Path | None,
    sim_epoch: float | None,
    sim_start: float | None,
) -> None:
    """Run this laundry room's edge agent until SIGINT/SIGTERM."""
    ctx.ensure_object(dict)
    ctx.obj["edge_config"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    if speed is not None and not simulate:
        raise click.UsageError("--speed only makes sense with --simulate")
    if speed is not None and speed <= 0:
        raise click.UsageError("--speed must be positive")
    sim_only = {
        "--seed": seed,
        "--student-rate": student_rate,
        "--truth-log": truth_log,
        "--sim-epoch": sim_epoch,
        "--sim-start": sim_start,
    }
    given = [name for name, value in sim_only.items() if value is not None]
    if given and not simulate:
        raise click.UsageError(f"{given[0]} only makes sense with --simulate")
    if simulate and "simulator" not in _installed:
        raise click.UsageError(_NO_SIMULATOR)
    sim = SimOptions(seed or 0, student_rate, truth_log, sim_epoch, sim_start)
    config = _load(config_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_agent(config, simulate=simulate, speed=speed or 1.0, sim=sim)
    except EdgeError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


@edge_command.command("status")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.pass_context
def status_command(ctx: click.Context, config_path: Path | None) -> None:
    """Show the room's stored machine states and outbox (works while the agent runs)."""
    config = _load(config_path or (ctx.obj or {}).get("edge_config"))
    try:
        click.echo(format_stored_status(config))
    except EdgeError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


def _add_technician_tools() -> None:
    """``kywash edge record|calibrate|replay|plot`` (edge/tools/cli.py): a technician has them on the Pi."""
    from edge.tools.cli import calibrate_command, plot_command, record_command, replay_command

    for command in (record_command, calibrate_command, replay_command, plot_command):
        edge_command.add_command(command)


_add_technician_tools()
