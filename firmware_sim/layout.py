"""How a room is wired: each machine's kind, door switch pin and current board channel."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from firmware_sim.board_frames import MAX_CHANNELS
from firmware_sim.errors import BadRoomLayoutError
from firmware_sim.machines import MACHINE_KINDS

WASHER_DOOR_PINS = (5, 6, 12, 13, 16, 17)
DRYER_DOOR_PINS = (19, 20, 21, 22, 23, 24)


@dataclass(frozen=True)
class SimMachineSpec:
    """One machine as wired in the room."""

    id: str
    kind: str
    """"washer" or "dryer"."""
    door_pin: int
    """BCM number of its door switch."""
    channel: int
    """1-based channel of the current board its clamp is on."""


def demo_machines(washers: int = 6, dryers: int = 6) -> list[SimMachineSpec]:
    """The demo room: washer-N on pins 5,6,12,13,16,17 and channels 1..; dryers after them."""
    if not (0 <= washers <= len(WASHER_DOOR_PINS) and 0 <= dryers <= len(DRYER_DOOR_PINS)):
        raise BadRoomLayoutError(f"the demo room wires up to {len(WASHER_DOOR_PINS)} of each kind")
    specs = [SimMachineSpec(f"washer-{i + 1}", "washer", WASHER_DOOR_PINS[i], i + 1) for i in range(washers)]
    specs += [SimMachineSpec(f"dryer-{i + 1}", "dryer", DRYER_DOOR_PINS[i], washers + i + 1) for i in range(dryers)]
    return specs


def check_layout(machines: Sequence[SimMachineSpec]) -> None:
    """Refuse a room no real wiring could produce."""
    if not machines:
        raise BadRoomLayoutError("a room needs at least one machine")
    for what, values in (
        ("id", Counter(m.id for m in machines)),
        ("door pin", Counter(str(m.door_pin) for m in machines)),
        ("channel", Counter(str(m.channel) for m in machines)),
    ):
        dupes = sorted(v for v, n in values.items() if n > 1)
        if dupes:
            raise BadRoomLayoutError(f"duplicate {what}: {', '.join(dupes)}")
    for m in machines:
        if m.kind not in MACHINE_KINDS:
            raise BadRoomLayoutError(f"{m.id}: unknown kind {m.kind!r}; expected one of {sorted(MACHINE_KINDS)}")
        if not 1 <= m.channel <= MAX_CHANNELS:
            raise BadRoomLayoutError(f"{m.id}: channel {m.channel} is not 1..{MAX_CHANNELS}")
