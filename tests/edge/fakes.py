"""Fakes shared by the edge tests: a board serving frames on a socket, detector scripts, polling.

The MQTT watcher is ``tests.support.mqtt_watch.MqttWatcher``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from edge.detector import CycleDetector, Transition
from kywash.contract import Door, EventType, MachineState
from launchers.broker import free_port


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy; fail the test with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class FrameServer:
    """A stand-in board on ``socket://127.0.0.1:port``: one client at a time, can vanish and return."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._server: socket.socket | None = None
        self._client: socket.socket | None = None
        self._accepted = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def listen(self) -> FrameServer:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(1)
        self._server = server
        self._accepted.clear()
        self._thread = threading.Thread(target=self._accept, args=(server,), daemon=True)
        self._thread.start()
        return self

    def _accept(self, server: socket.socket) -> None:
        try:
            client, _ = server.accept()
        except OSError:
            return
        self._client = client
        self._accepted.set()

    def wait_connected(self, timeout: float = 10) -> None:
        if not self._accepted.wait(timeout):
            pytest.fail("the board reader never connected")

    def send(self, data: bytes) -> None:
        assert self._client is not None
        self._client.sendall(data)

    def stop(self) -> None:
        """Close the client connection and stop listening (the board went away)."""
        for sock in (self._client, self._server):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._client = self._server = None


# --- detector scripts ---------------------------------------------------------------------
# A script is what a machine does, step after step, on a clock that starts at the detector's
# ``now``: current samples at 1 Hz (``steady``, ``tumble``, ``pulses``), door moves and
# ticks at the clock, and silences (``silence``, a sensor fault) that move it on.


@dataclass(frozen=True)
class Samples:
    """Current readings, one a second from the script's clock on."""

    amps: tuple[float, ...]

    def __add__(self, other: Samples) -> Samples:
        return Samples(self.amps + other.amps)

    def __mul__(self, times: int) -> Samples:
        return Samples(self.amps * times)

    @property
    def seconds(self) -> int:
        return len(self.amps)


@dataclass(frozen=True)
class DoorMove:
    door: Door


@dataclass(frozen=True)
class Tick:
    at: float
    """Absolute time of the tick (the clock moves there)."""


@dataclass(frozen=True)
class Silence:
    seconds: float
    sensor_fault: str | None = None
    """Report the sensor silent (``on_sensor_fault``) as the silence begins."""


Step = Samples | DoorMove | Tick | Silence
Observed = tuple[float, EventType, MachineState, float | None, str | None]
"""An event as the scenarios compare it: (at, type, state, cycle_seconds, reason)."""


def steady(amps: float, seconds: int) -> Samples:
    return Samples((amps,) * seconds)


def tumble(amps: float, seconds: int, *, on_s: int = 12, rest_s: int = 2, rest_amps: float = 0.02) -> Samples:
    """A drum turning ``on_s`` seconds at ``amps`` and resting ``rest_s``, for ``seconds``."""
    beat = (amps,) * on_s + (rest_amps,) * rest_s
    return Samples((beat * (seconds // len(beat) + 1))[:seconds])


def pulses(base: float, *beats: tuple[int, int, float]) -> Samples:
    """Anti-wrinkle tumbles: for each (gap_s, pulse_s, amps), ``gap_s`` at ``base`` then the pulse."""
    out = Samples(())
    for gap_s, pulse_s, amps in beats:
        out = out + steady(base, gap_s) + steady(amps, pulse_s)
    return out


def door(state: str) -> DoorMove:
    return DoorMove(Door(state))


def tick(at: float) -> Tick:
    return Tick(at)


def silence(seconds: float, sensor_fault: str | None = None) -> Silence:
    return Silence(seconds, sensor_fault)


def ev(
    at: float, type_: EventType, state: MachineState, seconds: float | None = None, reason: str | None = None
) -> Observed:
    return (at, type_, state, seconds, reason)


def observed(events: Iterable[Transition]) -> list[Observed]:
    return [(e.at, e.type, e.state, e.cycle_seconds, e.reason) for e in events]


class Player:
    """Plays scripts into one detector, keeping the script's clock between calls."""

    def __init__(self, detector: CycleDetector, now: float = 0.0) -> None:
        self.detector = detector
        self.now = now  # the script's clock: when its next step happens

    def play(self, *steps: Step) -> list[Transition]:
        d = self.detector
        out: list[Transition] = []
        for step in steps:
            if isinstance(step, Samples):
                for amps in step.amps:
                    out += d.on_current(self.now, amps)
                    self.now += 1.0
            elif isinstance(step, DoorMove):
                out += d.on_door(self.now, step.door)
            elif isinstance(step, Tick):
                self.now = max(self.now, step.at)
                out += d.on_tick(self.now)
            else:
                if step.sensor_fault is not None:
                    out += d.on_sensor_fault(self.now, step.sensor_fault)
                self.now += step.seconds
        return out
