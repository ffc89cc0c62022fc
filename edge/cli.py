"""``kywash edge``: run a laundry room's agent until SIGINT/SIGTERM, or show its status.

The top-level ``kywash`` command adds ``edge_command`` as its ``edge`` group. Run without
a subcommand, ``--config`` is required; ``--simulate`` runs the room simulator
(``firmware_sim``) in-process on gpiozero's mock pins and a pty, at ``--speed`` times
real time. A bad config prints ``error: <message>`` and exits 2, without a traceback.
"""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

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


def _simulator(config: RoomConfig, clock: Clock, factory: Any) -> Any:
    """The room simulator wired like the config (imported lazily: not needed on a Pi)."""
    from firmware_sim.room import RoomSimulator, SimMachineSpec

    specs = [SimMachineSpec(m.id, m.kind.value, m.door_pin, m.channel) for m in config.machines]
    return RoomSimulator(specs, clock, factory, serial="pty")


def run_agent(
    config: RoomConfig, *, simulate: bool = False, speed: float = 1.0, stop: threading.Event | None = None
) -> None:
    """Run the agent (and the simulator) until ``stop`` is set or a signal arrives."""
    stop = stop or threading.Event()
    # Signals are handled until everything is closed: a second Ctrl-C must not cut the cleanup short.
    with stop_on_signals(stop), ExitStack() as stack:
        clock: Clock = SystemClock()
        factory: Any = None
        simulator: Any = None
        if simulate:
            from gpiozero.pins.mock import MockFactory

            clock, factory = ScaledClock(speed), MockFactory()
            simulator = _simulator(config, clock, factory)
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
@click.pass_context
def edge_command(ctx: click.Context, config_path: Path | None, simulate: bool, speed: float | None) -> None:
    """Run this laundry room's edge agent until SIGINT/SIGTERM."""
    ctx.ensure_object(dict)
    ctx.obj["edge_config"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    if speed is not None and not simulate:
        raise click.UsageError("--speed only makes sense with --simulate")
    if speed is not None and speed <= 0:
        raise click.UsageError("--speed must be positive")
    config = _load(config_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_agent(config, simulate=simulate, speed=speed or 1.0)
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
    """``kywash edge record`` and ``kywash edge calibrate`` (edge/tools/cli.py)."""
    from edge.tools.cli import calibrate_command, record_command

    edge_command.add_command(record_command)
    edge_command.add_command(calibrate_command)


_add_technician_tools()
