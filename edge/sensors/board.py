"""The current-sensor board: a thread that reads KWB/1 frames from a serial port, forever.

It opens any pyserial URL (a device, a pty, ``socket://``, ``loop://``), cuts the stream
into lines, parses them and puts each good data frame on the agent's queue as a
``BoardReading`` stamped with the agent's clock. Damaged frames are dropped and counted
by reason, and sequence gaps counted; the next good frame is read as usual. When the
port fails (unplugged, pty closed, socket dropped) the thread closes it and reopens it
with a capped doubling wait, and never dies: a laundry room with a flaky USB cable must
come back on its own. ``health()`` tells a technician what happened.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import serial
from tenacity import Retrying, retry_if_result, wait_exponential

from edge.errors import FrameError
from edge.sensors.board_protocol import SEQ_MODULO, DataFrame, HelloFrame, LineSplitter, parse_frame
from edge.sensors.readings import BoardReading
from kywash.clock import Clock

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class BoardHealth:
    """A snapshot of the reader's counters (for ``status`` and logs)."""

    connected: bool
    frames_ok: int
    frames_bad: dict[str, int]
    hellos: int
    seq_gaps: int
    frames_lost: int
    reboots: int
    opens: int
    open_failures: int
    port_errors: int
    last_good_frame_at: float | None
    last_error: str | None
    firmware: str | None

    @property
    def bad_total(self) -> int:
        return sum(self.frames_bad.values())


@dataclass
class _Counters:
    connected: bool = False
    frames_ok: int = 0
    frames_bad: Counter[str] = field(default_factory=Counter)
    hellos: int = 0
    seq_gaps: int = 0
    frames_lost: int = 0
    reboots: int = 0
    opens: int = 0
    open_failures: int = 0
    port_errors: int = 0
    last_good_frame_at: float | None = None
    last_error: str | None = None
    firmware: str | None = None


class CurrentBoard:
    """Reads the board at ``url`` in a daemon thread and feeds ``readings``."""

    def __init__(
        self,
        url: str,
        *,
        readings: queue.Queue[Any],
        clock: Clock,
        baudrate: int = 115200,
        reopen_min_s: float = 0.5,
        reopen_max_s: float = 30.0,
    ) -> None:
        self.url = url
        self._readings = readings
        self._clock = clock
        self._baudrate = baudrate
        self._reopen_min = reopen_min_s
        self._reopen_max = reopen_max_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._counters = _Counters()
        self._splitter = LineSplitter()
        self._last_seq: int | None = None
        self._hello_seen = False
        self._port: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> CurrentBoard:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kywash-board", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop the reader: at once where the port can cancel a read, else within a read timeout."""
        self._stop.set()
        port = self._port
        if port is not None and hasattr(port, "cancel_read"):
            with contextlib.suppress(OSError, ValueError):  # closed under us: the thread is ending anyway
                port.cancel_read()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> CurrentBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> BoardHealth:
        with self._lock:
            c = self._counters
            return BoardHealth(
                c.connected, c.frames_ok, dict(c.frames_bad), c.hellos, c.seq_gaps, c.frames_lost,
                c.reboots, c.opens, c.open_failures, c.port_errors, c.last_good_frame_at,
                c.last_error, c.firmware,
            )  # fmt: skip

    # --- the reader thread ------------------------------------------------------------

    def _run(self) -> None:
        """Reopen the port until stopped: ``reopen_min_s`` after a session that read frames,
        doubling up to ``reopen_max_s`` while the opens keep failing (a board unplugged)."""
        while not self._stop.is_set():
            backoff = Retrying(
                retry=retry_if_result(lambda got_frames: not got_frames),
                wait=wait_exponential(multiplier=self._reopen_min, min=self._reopen_min, max=self._reopen_max),
                stop=lambda _state: self._stop.is_set(),
                sleep=self._pause,
                retry_error_callback=lambda _state: False,
            )
            backoff(self._attempt)
            self._stop.wait(self._reopen_min)

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)  # a stop cuts the back-off short

    def _attempt(self) -> bool:
        """One session; never raises (count, log, back off, retry): True if it read a good frame."""
        try:
            return self._session()
        except Exception as exc:
            self._note_error(exc, port_error=True)
            return False
        finally:
            self._set_connected(False)

    def _session(self) -> bool:
        """Open the port and read it until it fails or we stop; True if a good frame came."""
        try:
            port = serial.serial_for_url(self.url, baudrate=self._baudrate, timeout=READ_TIMEOUT_S)
        except (OSError, ValueError) as exc:
            self._note_error(exc, open_failure=True)
            return False
        self._port = port
        with self._lock:
            self._counters.opens += 1
            self._counters.connected = True
        log.info("current board open on %s", self.url)
        self._splitter.reset()
        self._last_seq = None
        frames_before = self._counters.frames_ok
        try:
            while not self._stop.is_set():
                data = port.read(port.in_waiting or 1)
                for line in self._splitter.feed(data):
                    self._handle_line(line)
                self._sync_overlong()
        finally:
            self._port = None
            port.close()
        return self._counters.frames_ok > frames_before

    def _handle_line(self, line: bytes) -> None:
        try:
            frame = parse_frame(line)
        except FrameError as exc:
            with self._lock:
                self._counters.frames_bad[exc.reason] += 1
            log.debug("dropped board line (%s): %r", exc.reason, line[:80])
            return
        if isinstance(frame, HelloFrame):
            self._on_hello(frame)
        else:
            self._on_data(frame)

    def _on_hello(self, frame: HelloFrame) -> None:
        self._hello_seen = True
        with self._lock:
            self._counters.hellos += 1
            changed, self._counters.firmware = self._counters.firmware != frame.firmware, frame.firmware
        # A hello comes every 60 frames; only a new board (or new firmware) is news.
        level = logging.INFO if changed else logging.DEBUG
        log.log(level, "current board firmware %s, %d channels", frame.firmware, frame.channels)

    def _on_data(self, frame: DataFrame) -> None:
        now = self._clock.now()
        with self._lock:
            c = self._counters
            if self._last_seq is not None:
                expected = (self._last_seq + 1) % SEQ_MODULO
                if frame.seq == 0 and self._hello_seen and frame.seq != expected:
                    c.reboots += 1
                elif frame.seq != expected:
                    c.seq_gaps += 1
                    c.frames_lost += (frame.seq - expected) % SEQ_MODULO
            self._last_seq = frame.seq
            self._hello_seen = False
            c.frames_ok += 1
            c.last_good_frame_at = now
        self._readings.put(BoardReading(frame.amps, now, frame.seq))

    def _sync_overlong(self) -> None:
        overlong = self._splitter.overlong
        if overlong:
            self._splitter.overlong = 0
            with self._lock:
                self._counters.frames_bad["too_long"] += overlong

    def _set_connected(self, connected: bool) -> None:
        with self._lock:
            self._counters.connected = connected

    def _note_error(self, exc: BaseException, *, open_failure: bool = False, port_error: bool = False) -> None:
        with self._lock:
            c = self._counters
            c.open_failures += open_failure
            c.port_errors += port_error
            first = c.last_error != str(exc)
            c.last_error = str(exc)
        if first:
            log.warning("current board on %s: %s", self.url, exc)
