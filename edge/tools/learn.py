"""Playing several recordings of one machine through one detector, as a room would live them.

``kywash edge replay A.csv B.csv`` and ``kywash edge calibrate --trace A.csv --trace B.csv
--profile-out`` both treat the recordings as one machine's consecutive cycles: what the
detector learned from A (its standby, the cycle's length and end) is what it knows at the
start of B. Between two recordings, what a real room does: ``DOOR_OPENS_AFTER_S`` after a
file's last sample the door opens (a student takes the laundry out; a quiet cycle ends
there at the latest), ``DOOR_OPEN_FOR_S`` later it closes, and the next file's first
sample comes ``NEXT_FILE_AFTER_S`` after the previous file's last one.

The detector runs on one timeline (``Leg.offset`` maps each file's times onto it), ending
at ``end_at`` (epoch seconds: the learned cycles' ``ended_at`` are then real dates). Each
transition is told against the file it belongs to: ``Played.t_s`` is seconds from that
file's first sample; the door changes after a file belong to that file.

Profiles on disk (``load_profile``, ``save_profile``) are ``MachineProfile`` JSON, as the
edge publishes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from edge.detector import CycleDetector, Transition
from edge.errors import EdgeError
from edge.learning import Learned
from edge.thresholds import Thresholds
from edge.tools.trace import Trace
from kywash.contract import ContractError, Door, MachineKind, MachineProfile, decode

DOOR_OPENS_AFTER_S: Final = 1.0
"""After a file's last sample the door opens this much later..."""
DOOR_OPEN_FOR_S: Final = 30.0
"""...and stays open this long."""
NEXT_FILE_AFTER_S: Final = 60.0
"""The next file's first sample comes this long after the previous file's last one."""

Readings = Callable[[Trace], Iterable[tuple[float, float]]]
"""The (time, amps) readings the detector gets from a trace (default: its samples as they are)."""


class ProfileFileError(EdgeError, ValueError):
    """A profile file that cannot be used; the message names the file and why."""


@dataclass(frozen=True)
class Leg:
    """One recording on the session's timeline: detector time = trace time + ``offset``."""

    name: str
    trace: Trace
    offset: float
    last: bool

    @property
    def start(self) -> float:
        return self.trace.start + self.offset

    @property
    def end(self) -> float:
        return self.trace.end + self.offset


@dataclass(frozen=True)
class Played:
    """A transition of the session, told against its file: ``t_s`` from the file's first sample."""

    file: str
    t_s: float
    transition: Transition


def legs(recordings: Sequence[tuple[str, Trace]], *, end_at: float | None = None) -> list[Leg]:
    """The recordings chained ``NEXT_FILE_AFTER_S`` apart; the last sample at ``end_at`` (None: the
    first file keeps its own times)."""
    out: list[Leg] = []
    position = recordings[0][1].start if recordings else 0.0
    for k, (name, trace) in enumerate(recordings):
        out.append(Leg(name, trace, position - trace.start, k == len(recordings) - 1))
        position += trace.end - trace.start + NEXT_FILE_AFTER_S
    if end_at is not None and out:
        shift = end_at - out[-1].end
        out = [Leg(leg.name, leg.trace, leg.offset + shift, leg.last) for leg in out]
    return out


def door_break(detector: CycleDetector, leg: Leg) -> list[Played]:
    """After a file that is not the last: the door opens and closes again (see the module docstring)."""
    if leg.last:
        return []
    opened = leg.end + DOOR_OPENS_AFTER_S
    closed = opened + DOOR_OPEN_FOR_S
    changes = detector.on_tick(opened) + detector.on_door(opened, Door.OPEN)
    changes += detector.on_tick(closed) + detector.on_door(closed, Door.CLOSED)
    return [told(leg, change) for change in changes]


def told(leg: Leg, transition: Transition) -> Played:
    return Played(leg.name, round(transition.at - leg.start, 3), transition)


def samples(trace: Trace) -> Iterable[tuple[float, float]]:
    """A trace's samples as they are (a recording from the board is its readings already)."""
    return zip(trace.times, trace.amps, strict=True)


def play(detector: CycleDetector, session: Sequence[Leg], readings: Readings = samples) -> Iterator[Played]:
    """Feed every leg's readings straight into the detector (no serial port), with the door breaks."""
    for leg in session:
        for t, amps in readings(leg.trace):
            for change in detector.on_current(t + leg.offset, amps):
                yield told(leg, change)
        yield from door_break(detector, leg)


def learn(
    recordings: Sequence[tuple[str, Trace]], kind: MachineKind, thresholds: Thresholds, *,
    learned: Learned | None = None, end_at: float | None = None, readings: Readings | None = None,
) -> tuple[CycleDetector, list[Played]]:  # fmt: skip
    """One detector through all the recordings; returns it (``.learned``) and what it saw."""
    session = legs(recordings, end_at=end_at)
    start = session[0].start if session else 0.0
    detector = CycleDetector(kind, thresholds, now=start, learned=learned)
    played = list(play(detector, session, readings or samples))
    return detector, played


def load_profile(path: Path, kind: MachineKind) -> Learned:
    """A ``MachineProfile`` JSON file of a machine of ``kind``; ``ProfileFileError`` if unusable."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        profile = decode(MachineProfile, raw)
    except ContractError as exc:
        raise ProfileFileError(f"{path}: not a machine profile: {exc}") from None
    if profile.kind is not kind:
        raise ProfileFileError(f"{path}: a {profile.kind.value}'s profile, not a {kind.value}'s")
    return Learned.from_payload(profile)


def save_profile(path: Path, learned: Learned, machine: str, kind: MachineKind, now: float) -> None:
    """Write the profile as ``MachineProfile`` JSON, atomically (a temporary file, then a rename)."""
    payload = learned.to_payload(machine, kind, now).model_dump_json(by_alias=True, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(payload + "\n")
    os.replace(partial, path)
