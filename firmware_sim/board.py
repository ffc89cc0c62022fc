"""The current-sensor board's firmware: one KWB/1 frame per sample period on a serial port.

Every sample period (clock seconds) the board reads each channel's current, takes the RMS
over the period, and writes a data frame; a hello goes out at power-up and every 60
frames. It runs in its own daemon thread and talks only through its transport (a pty or
a TCP port that pyserial opens by URL), exactly as the edge would meet real hardware.

Timing: the board never writes more often than every 10 ms of real time. With a fast
``ScaledClock`` the sample period therefore widens (to ``10 ms * speed`` clock seconds)
instead of flooding the reader; the hello announces the period actually used, and each
frame's value is the RMS over the whole (widened) period, so short pulses still show.

Faults for tests and chaos runs: ``inject_garbage``, ``corrupt_next``, ``truncate_next``,
``pause``/``resume`` (silent board) and ``reboot`` (sequence back to 0, hello again).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from firmware_sim.board_frames import (
    MAX_CHANNELS,
    corrupt,
    encode_data_frame,
    encode_hello,
    truncate,
)
from firmware_sim.transports import Transport, TransportKind, open_transport
from kywash.clock import Clock

log = logging.getLogger(__name__)

ChannelReader = Callable[[float], float]
"""Clock time -> amps flowing through that channel's clamp."""

MIN_REAL_INTERVAL_S = 0.010
HELLO_EVERY = 60
MAX_RMS_SAMPLES = 16
DEFAULT_FIRMWARE = "1.4.2-sim"
_WAIT_CHUNK_S = 0.1
"""Longest single clock sleep, so ``close()`` is never kept waiting for a whole period."""


def _rms(read: ChannelReader, times: Sequence[float]) -> float:
    try:
        return math.sqrt(sum(read(t) ** 2 for t in times) / len(times))
    except Exception:  # a dead channel reads 0, it does not stop the board
        log.exception("channel reader failed")
        return 0.0


class BoardEmulator:
    """The board: ``url`` is readable as soon as it is constructed; ``start()`` powers it up."""

    def __init__(
        self,
        channels: Sequence[ChannelReader],
        clock: Clock,
        *,
        transport: TransportKind | Transport = "pty",
        period: float = 1.0,
        firmware: str = DEFAULT_FIRMWARE,
        seed: int = 0,
    ) -> None:
        if not 1 <= len(channels) <= MAX_CHANNELS:
            raise ValueError(f"a board has 1..{MAX_CHANNELS} channels, not {len(channels)}")
        if period <= 0:
            raise ValueError("period must be positive")
        self._channels = tuple(channels)
        self.clock = clock
        self.transport: Transport = open_transport(transport) if isinstance(transport, str) else transport
        self.url: str = self.transport.url
        speed = float(getattr(clock, "speed", 1.0))
        self.period: float = max(period, MIN_REAL_INTERVAL_S * speed)
        self._hello = encode_hello(firmware, len(self._channels), max(1, round(self.period * 1000)))
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._seq = 0
        self._since_hello: int | None = None  # None: hello due (power-up)
        self._corrupt = 0
        self._truncate: list[bool] = []
        self._paused = False
        self._last_sample: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_sent = 0
        """Data frames produced (a transport with no reader still drops them)."""

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        if self._stop.is_set():
            raise RuntimeError("a closed board cannot be started again")
        self._thread = threading.Thread(target=self._run, name="kywash-sim-board", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and close the transport; safe to call twice."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.transport.close()

    def __enter__(self) -> BoardEmulator:
        """Does not start the board: open the reader first (so it sees the hello), then ``start()``."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- faults ------------------------------------------------------------------------

    def inject_garbage(self, data: bytes) -> bool:
        """Write raw bytes now (line noise, boot messages); False if nobody was listening."""
        return self.transport.write(data)

    def corrupt_next(self, n: int = 1) -> None:
        """Change one digit in each of the next ``n`` data frames, after the CRC is computed."""
        with self._lock:
            self._corrupt += n

    def truncate_next(self, *, keep_line_end: bool = True) -> None:
        """Cut the next data frame short; without its line end it runs into the next frame."""
        with self._lock:
            self._truncate.append(keep_line_end)

    def pause(self) -> None:
        """Go silent (a hung microcontroller): no frames, the sequence number stands still."""
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False

    def reboot(self) -> None:
        """Restart the firmware: hello next, then data frames from sequence 0."""
        with self._lock:
            self._seq = 0
            self._since_hello = None

    # -- frames ------------------------------------------------------------------------

    def emit_frame(self) -> bytes | None:
        """Sample every channel now and write one data frame (after a hello when one is due).

        Called by the board's thread; tests with a ``FakeClock`` may call it directly
        instead of starting the thread. Returns the data frame as written, None if paused.
        """
        now = self.clock.now()
        with self._lock:
            start = self._last_sample if self._last_sample is not None else now - self.period
            self._last_sample = now
            if self._paused:
                return None
        amps = self._sample(start, now)
        with self._lock:
            out: list[bytes] = []
            if self._since_hello is None or self._since_hello >= HELLO_EVERY:
                out.append(self._hello)
                self._since_hello = 0
            frame = self._damage(encode_data_frame(self._seq, amps))
            out.append(frame)
            self._seq = (self._seq + 1) % 65536
            self._since_hello += 1
            self.frames_sent += 1
        for chunk in out:
            self.transport.write(chunk)
        return frame

    def _sample(self, start: float, now: float) -> list[float]:
        """RMS of each channel over (start, now], from up to 16 evenly spaced readings."""
        window = max(now - start, 0.0)
        k = max(1, min(MAX_RMS_SAMPLES, round(window / min(self.period, 1.0))))
        times = [now - window * i / k for i in range(k)]
        return [_rms(read, times) for read in self._channels]

    def _damage(self, frame: bytes) -> bytes:
        if self._corrupt:
            self._corrupt -= 1
            return corrupt(frame, self._rng)
        if self._truncate:
            return truncate(frame, self._rng, keep_line_end=self._truncate.pop(0))
        return frame

    # -- thread ------------------------------------------------------------------------

    def _run(self) -> None:
        next_due = self.clock.now()
        last_real = -math.inf
        while self._wait_until(next_due, last_real + MIN_REAL_INTERVAL_S):
            last_real = time.monotonic()
            try:
                self.emit_frame()
            except Exception:  # keep the board alive; a real one would watchdog-reset
                log.exception("board frame failed")
            now = self.clock.now()
            next_due += self.period
            if next_due < now - self.period:  # fell far behind: skip, do not burst
                next_due = now
        log.debug("board stopped")

    def _wait_until(self, clock_due: float, real_due: float) -> bool:
        """Sleep until both deadlines pass; False as soon as the board is closed."""
        while not self._stop.is_set():
            real_left = real_due - time.monotonic()
            if real_left > 0:
                self._stop.wait(real_left)
                continue
            clock_left = clock_due - self.clock.now()
            if clock_left <= 0:
                return True
            self.clock.sleep(min(clock_left, _WAIT_CHUNK_S))
        return False
