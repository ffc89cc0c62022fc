"""Brings the room's detectors back after a (re)start, from the outbox's stored machine states.

A machine with a stored state resumes it, and a door that changed while the agent was
down becomes an event now (the pins are read at start). A machine seen for the first
time starts quiet: idle or door_open as its pin says, stored without an event. Each
detector starts with the machine's stored profile (``learned``, from ``edge.profile_store``)
when there is one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from edge import messages
from edge.config import MachineConfig, RoomConfig
from edge.detector import CycleDetector, Transition
from edge.learning import Learned
from edge.outbox import MachineStateRow
from kywash.contract import Door

log = logging.getLogger(__name__)


@dataclass
class Restored:
    detectors: dict[str, CycleDetector] = field(default_factory=dict)
    new_rows: list[MachineStateRow] = field(default_factory=list)
    """First states of machines the outbox did not know, to store as they are."""
    changes: list[tuple[str, Transition]] = field(default_factory=list)
    """Door changes found at start, to store as events."""


def _from_row(
    config: RoomConfig, machine: MachineConfig, now: float, row: MachineStateRow, learned: Learned | None
) -> CycleDetector | None:
    try:
        snap = messages.snapshot_from_row(row)
    except ValueError:
        log.warning("stored state of %s is unreadable; starting it afresh", machine.id)
        return None
    return CycleDetector(machine.kind, config.thresholds_for(machine), now=now, restore=snap, learned=learned)


def restore_detectors(
    config: RoomConfig, stored: Mapping[str, MachineStateRow], doors: Mapping[str, Door], now: float,
    learned: Mapping[str, Learned] | None = None,
) -> Restored:  # fmt: skip
    """Detectors for every configured machine, given the stored rows, profiles and the doors read now."""
    out = Restored()
    profiles = learned or {}
    for machine in config.machines:
        level = doors[machine.id]
        row = stored.get(machine.id)
        profile = profiles.get(machine.id)
        detector = _from_row(config, machine, now, row, profile) if row is not None else None
        if detector is None:
            detector = CycleDetector(machine.kind, config.thresholds_for(machine), now=now, door=level, learned=profile)
            out.new_rows.append(messages.state_row(machine.id, detector.snapshot))
        out.detectors[machine.id] = detector
        out.changes += [(machine.id, change) for change in detector.on_door(now, level)]
    return out
