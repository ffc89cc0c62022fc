"""Recording one machine's current from the room's board, as a technician does before tuning.

``channel_samples`` reads the board at the config's serial URL with the edge's own
``CurrentBoard`` and yields ``(t, amps)`` for one machine's channel, ``t`` in seconds
from the first reading, until a stop event, a time limit or the caller stops asking.
``record_trace`` writes those as ``t_s,amps`` CSV, flushed line by line, so an
interrupted recording is still a valid trace. ``record_cycles`` keeps reading until the
room's detector (with the config's thresholds) has seen a number of cycles finish, for
``kywash edge calibrate``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edge.config import RoomConfig
from edge.detector import CycleDetector
from edge.errors import BoardUnavailable, ConfigError
from edge.sensors.board import CurrentBoard
from edge.tools.trace import HEADER, Trace, write_sample
from kywash.clock import Clock, SystemClock
from kywash.contract import EventType

POLL_S = 0.2
NO_FRAMES_S = 10.0
"""Give up when the board sends nothing for this long (real seconds), naming the port."""


def machine_channel(config: RoomConfig, machine_id: str) -> int:
    try:
        return config.machine(machine_id).channel
    except KeyError:
        known = ", ".join(m.id for m in config.machines)
        raise ConfigError(f"no machine {machine_id!r} in the room config; it has {known}") from None


def channel_samples(
    config: RoomConfig,
    channel: int,
    *,
    seconds: float | None = None,
    stop: threading.Event | None = None,
    clock: Clock | None = None,
    no_frames_s: float = NO_FRAMES_S,
) -> Iterator[tuple[float, float]]:
    """Yield (seconds since the first reading, amps on ``channel``) as the board reports them."""
    clock = clock or SystemClock()
    stop = stop or threading.Event()
    readings: queue.Queue[Any] = queue.Queue()
    board_config = config.board
    with CurrentBoard(
        board_config.url, readings=readings, clock=clock, baudrate=board_config.baudrate,
        reopen_min_s=board_config.reopen_min_s, reopen_max_s=board_config.reopen_max_s,
    ) as board:  # fmt: skip
        first: float | None = None
        last: float | None = None
        waited = 0.0
        while not stop.is_set():
            try:
                reading = readings.get(timeout=POLL_S)
            except queue.Empty:
                waited += POLL_S
                if waited >= no_frames_s:
                    health = board.health()
                    why = health.last_error or f"{health.bad_total} damaged frames, none good"
                    raise BoardUnavailable(f"no readings from the board on {board.url} ({why})") from None
                continue
            waited = 0.0
            if channel > len(reading.amps):
                raise ConfigError(f"channel {channel} is not on the board: it reports {len(reading.amps)} channels")
            first = reading.ts if first is None else first
            # frames read in one burst share a moment: keep times increasing at the CSV's 1 ms
            t = reading.ts - first if last is None else max(reading.ts - first, last + 0.001)
            last = t
            if seconds is not None and t > seconds:
                return
            yield t, reading.amps[channel - 1]


def record_trace(
    config: RoomConfig,
    machine_id: str,
    out: str | Path,
    *,
    seconds: float | None = None,
    stop: threading.Event | None = None,
    clock: Clock | None = None,
) -> int:
    """Write the machine's current to ``out`` as CSV; returns the number of samples."""
    channel = machine_channel(config, machine_id)
    count = 0
    with Path(out).open("w", newline="") as handle:
        handle.write(HEADER + "\n")
        for t, amps in channel_samples(config, channel, seconds=seconds, stop=stop, clock=clock):
            write_sample(handle, t, amps)
            handle.flush()
            count += 1
    return count


def record_cycles(
    config: RoomConfig,
    machine_id: str,
    cycles: int,
    *,
    max_seconds: float | None = None,
    stop: threading.Event | None = None,
    clock: Clock | None = None,
) -> Trace:
    """Record until the room's detector has seen ``cycles`` cycles finish (or the time runs out)."""
    machine_channel(config, machine_id)  # a ConfigError naming the room's machines if it is not there
    machine = config.machine(machine_id)
    detector = CycleDetector(machine.kind, config.thresholds_for(machine))
    samples: list[tuple[float, float]] = []
    finished = 0
    for t, amps in channel_samples(config, machine.channel, seconds=max_seconds, stop=stop, clock=clock):
        samples.append((t, amps))
        events = detector.on_current(t, amps)
        finished += sum(event.type is EventType.CYCLE_FINISHED for event in events)
        if finished >= cycles:
            break
    if not samples:
        raise BoardUnavailable(f"no readings from the board on {config.board.url}")
    return Trace.of(samples)
