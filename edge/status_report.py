"""A human-readable status of a room, read from its outbox file (the agent may be running).

``kywash edge status`` runs in its own process, so it reads what the agent stores rather
than asking the agent: machine states, outbox depth, last sequence number, recent boots.
"""

from __future__ import annotations

from edge.agent import OUTBOX_FILE
from edge.config import RoomConfig
from edge.errors import OutboxError
from edge.outbox import Outbox
from kywash.clock import to_datetime


def format_stored_status(config: RoomConfig) -> str:
    path = config.data_dir / OUTBOX_FILE
    if not path.exists():
        raise OutboxError(f"no outbox at {path}: the agent has not run with this config yet")
    with Outbox(path) as outbox:
        depth, last, states, boots = outbox.depth(), outbox.last_seq(), outbox.machine_states(), outbox.boots()
    lines = [
        f"room {config.site}/{config.room}",
        f"outbox: {depth} undelivered, last seq {last}",
    ]
    if boots:
        boot_id, started = boots[-1]
        lines.append(f"last boot: {boot_id} at {to_datetime(started):%Y-%m-%d %H:%M:%S}Z ({len(boots)} recorded)")
    for machine in config.machines:
        row = states.get(machine.id)
        if row is None:
            lines.append(f"  {machine.id:<12} unknown")
            continue
        since = f"{to_datetime(row.since):%Y-%m-%d %H:%M:%S}Z"
        fault = f" fault={row.fault}" if row.fault else ""
        lines.append(
            f"  {machine.id:<12} {row.state:<13} since {since}  door {row.door:<6} "
            f"{row.current:5.2f} A  seq {row.seq}{fault}"
        )
    return "\n".join(lines)
