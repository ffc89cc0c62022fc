"""What the sensor threads put on the agent's one queue: timestamped door edges and board readings."""

from __future__ import annotations

from typing import NamedTuple

from kywash.contract import Door


class DoorEdge(NamedTuple):
    """A raw (not yet debounced) door switch edge, stamped on the agent's clock and in real time."""

    machine_id: str
    door: Door
    ts: float
    mono: float | None = None


class BoardReading(NamedTuple):
    """One good data frame: RMS amps per board channel (channel 1 is ``amps[0]``)."""

    amps: tuple[float, ...]
    ts: float
    seq: int = 0
