"""Parser for the current board's serial protocol (KWB/1, docs/board-protocol.md). Pure, no I/O.

``parse_frame(line)`` returns a ``DataFrame`` or ``HelloFrame`` or raises ``FrameError``
with a short ``reason`` (a counter label); it never guesses a value from a damaged frame
and never raises anything else, whatever bytes arrive (checked with hypothesis).
``LineSplitter`` cuts the byte stream into lines and drops overlong ones without
buffering them, so a board spewing garbage cannot grow the agent's memory.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from edge.errors import FrameError

MAX_LINE: Final = 512
MAX_CHANNELS: Final = 32
SEQ_MODULO: Final = 65536

_CRC_RE: Final = re.compile(rb"[0-9A-F]{4}")
_DECIMAL_RE: Final = re.compile(r"[0-9]{1,5}")
_AMPS_RE: Final = re.compile(r"[0-9]{1,2}\.[0-9]{2}")
_FIRMWARE_RE: Final = re.compile(r"[0-9A-Za-z.\-]+")


@dataclass(frozen=True, slots=True)
class DataFrame:
    """RMS amps per channel; ``amps[0]`` is channel 1."""

    seq: int
    amps: tuple[float, ...]

    @property
    def channels(self) -> int:
        return len(self.amps)


@dataclass(frozen=True, slots=True)
class HelloFrame:
    """Sent at power-up and every 60 frames: who the board is and how it samples."""

    firmware: str
    channels: int
    period_ms: int


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as the board computes it."""
    return binascii.crc_hqx(data, 0xFFFF)


def _decimal(text: str, reason: str, low: int, high: int) -> int:
    if not _DECIMAL_RE.fullmatch(text):
        raise FrameError(reason, f"{text!r} is not a decimal number")
    value = int(text)
    if not low <= value <= high:
        raise FrameError(reason, f"{value} is outside {low}..{high}")
    return value


def _checked_body(line: bytes) -> str:
    """The text between ``$`` and ``*`` once framing and CRC are right."""
    line = line.rstrip(b"\r\n")
    if len(line) > MAX_LINE:
        raise FrameError("too_long", f"line of {len(line)} bytes exceeds {MAX_LINE}")
    start = line.rfind(b"$")  # anything before the last '$' is noise or a broken frame
    if start < 0:
        raise FrameError("no_start", "line has no '$'")
    frame = line[start + 1 :]
    if any(byte < 0x20 or byte > 0x7E for byte in frame):
        raise FrameError("not_ascii", "frame holds non-printable bytes")
    body, star, crc = frame.partition(b"*")
    if not star:
        raise FrameError("no_checksum", "frame has no '*<CRC>' (truncated?)")
    if not _CRC_RE.fullmatch(crc):
        raise FrameError("bad_checksum", f"checksum {crc.decode()!r} is not four upper-case hex digits")
    if int(crc, 16) != crc16_ccitt_false(body):
        raise FrameError("crc_mismatch", f"checksum {crc.decode()} does not match the frame")
    return body.decode("ascii")


def _data(seq_field: str, fields: list[str]) -> DataFrame:
    seq = _decimal(seq_field, "bad_seq", 0, SEQ_MODULO - 1)
    if not fields:
        raise FrameError("field_count", "data frame has no channel count")
    count = _decimal(fields[0], "bad_channel_count", 1, MAX_CHANNELS)
    values = fields[1:]
    if len(values) != count:
        raise FrameError("field_count", f"channel count {count} but {len(values)} values")
    for value in values:
        if not _AMPS_RE.fullmatch(value):
            raise FrameError("bad_amps", f"{value!r} is not amps with two decimals in 0.00..99.99")
    return DataFrame(seq, tuple(float(value) for value in values))


def _hello(fields: list[str]) -> HelloFrame:
    if len(fields) != 3:
        raise FrameError("field_count", f"hello frame has {len(fields)} fields, expected 3")
    firmware, count, period = fields
    if not _FIRMWARE_RE.fullmatch(firmware):
        raise FrameError("bad_firmware", f"firmware {firmware!r} has characters outside [0-9A-Za-z.-]")
    channels = _decimal(count, "bad_channel_count", 1, MAX_CHANNELS)
    period_ms = _decimal(period, "bad_period", 1, 99999)
    return HelloFrame(firmware, channels, period_ms)


def parse_frame(line: bytes) -> DataFrame | HelloFrame:
    """Parse one line (with or without its line ending); ``FrameError`` if it is not a frame."""
    fields = _checked_body(bytes(line)).split(",")
    if len(fields) < 4 or fields[0] != "KWB":
        raise FrameError("bad_header", "frame does not start with KWB,<version>,<kind>")
    if fields[1] != "1":
        raise FrameError("bad_version", f"protocol version {fields[1]!r} is not 1")
    kind = fields[2]
    if kind == "D":
        return _data(fields[3], fields[4:])
    if kind == "H":
        return _hello(fields[3:])
    raise FrameError("unknown_kind", f"frame kind {kind!r} is neither D nor H")


def format_frame(frame: DataFrame | HelloFrame) -> bytes:
    """The wire form of a frame (for tests and tools; the simulator has its own writer)."""
    if isinstance(frame, DataFrame):
        values = ",".join(f"{amps:.2f}" for amps in frame.amps)
        body = f"KWB,1,D,{frame.seq},{len(frame.amps)},{values}"
    else:
        body = f"KWB,1,H,{frame.firmware},{frame.channels},{frame.period_ms}"
    raw = body.encode("ascii")
    return b"$" + raw + f"*{crc16_ccitt_false(raw):04X}\r\n".encode()


class LineSplitter:
    """Cuts a byte stream into lines, never holding more than one line's worth of bytes.

    ``feed`` yields complete lines (without ``\\n``). A line that grows past ``MAX_LINE``
    without a newline is discarded up to its newline, and ``overlong`` counts it.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buffer = bytearray()
        self._max = max_line
        self._skipping = False
        self.overlong = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                self._trim()
                return
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._skipping:
                self._skipping = False
                continue
            if len(line.rstrip(b"\r")) > self._max:
                self.overlong += 1
                continue
            yield line

    def _trim(self) -> None:
        if len(self._buffer) > self._max + 1:
            if not self._skipping:
                self.overlong += 1
            self._skipping = True
            self._buffer.clear()

    def reset(self) -> None:
        """Forget a partial line (after the port is reopened)."""
        self._buffer.clear()
        self._skipping = False
