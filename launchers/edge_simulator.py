"""``kywash edge --simulate``: the room simulator behind the edge agent, wired like its config.

The edge must not depend on the simulator (a Pi runs without it), so the ``kywash``
command hands this factory to the edge's CLI (``edge.cli.install_simulator``) as it loads
the ``edge`` group. The simulator itself is imported only when ``--simulate`` asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from edge.cli import SimOptions, install_simulator
from edge.cli import edge_command as _edge_group
from edge.config import RoomConfig
from kywash.clock import Clock

if TYPE_CHECKING:
    from firmware_sim.room import RoomSimulator


def room_simulator(config: RoomConfig, clock: Clock, factory: Any, options: SimOptions) -> RoomSimulator:
    """A ``firmware_sim`` room with the config's machines on their door pins and board channels."""
    from firmware_sim.room import RoomSimulator, SimMachineSpec

    extra: dict[str, Any] = {}
    if options.student_rate is not None:
        extra["student_rate_per_hour"] = options.student_rate
    specs = [SimMachineSpec(m.id, m.kind.value, m.door_pin, m.channel) for m in config.machines]
    return RoomSimulator(specs, clock, factory, serial="pty", seed=options.seed, truth_path=options.truth_log, **extra)


def edge_command() -> click.Command:
    """``kywash edge``, its ``--simulate`` running ``room_simulator``."""
    install_simulator(room_simulator)
    return _edge_group
