"""Encoding of the current board's serial frames (KWB/1, docs/board-protocol.md).

Written from the protocol document, separately from the edge's parser, as the board's
firmware would be; both are checked against tests/golden/board_frames.jsonl. The fault
helpers damage a finished frame the way a noisy line or a reset would.
"""

from __future__ import annotations

import binascii
import math
import random
import re
from collections.abc import Sequence
from typing import Final

PROTOCOL_VERSION: Final = 1
MAX_CHANNELS: Final = 32
MAX_AMPS: Final = 99.99
SEQ_MODULO: Final = 65536
LINE_END: Final = b"\r\n"
_FIRMWARE_RE: Final = re.compile(r"^[0-9A-Za-z.\-]+$")


def crc16(body: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    return binascii.crc_hqx(body, 0xFFFF)


def _frame(body: str) -> bytes:
    raw = body.encode("ascii")
    return b"$" + raw + b"*" + f"{crc16(raw):04X}".encode("ascii") + LINE_END


def format_amps(amps: float) -> str:
    """Exactly two decimals, clamped to 0.00..99.99 (NaN reads as 0.00, like a dead channel)."""
    if math.isnan(amps) or amps <= 0:
        return "0.00"
    return "99.99" if amps >= MAX_AMPS else f"{amps:.2f}"


def encode_data_frame(seq: int, amps: Sequence[float]) -> bytes:
    """``$KWB,1,D,<seq>,<n>,<a1>..<an>*<CRC>\\r\\n``; ``seq`` wraps at 65536."""
    if not 1 <= len(amps) <= MAX_CHANNELS:
        raise ValueError(f"a board has 1..{MAX_CHANNELS} channels, not {len(amps)}")
    values = ",".join(format_amps(a) for a in amps)
    return _frame(f"KWB,{PROTOCOL_VERSION},D,{seq % SEQ_MODULO},{len(amps)},{values}")


def encode_hello(firmware: str, channels: int, period_ms: int) -> bytes:
    """``$KWB,1,H,<firmware>,<n>,<period_ms>*<CRC>\\r\\n``, sent at power-up and every 60 frames."""
    if not _FIRMWARE_RE.match(firmware):
        raise ValueError(f"firmware version {firmware!r} must be [0-9A-Za-z.-]")
    if not 1 <= channels <= MAX_CHANNELS:
        raise ValueError(f"a board has 1..{MAX_CHANNELS} channels, not {channels}")
    if period_ms < 1:
        raise ValueError("period_ms must be positive")
    return _frame(f"KWB,{PROTOCOL_VERSION},H,{firmware},{channels},{period_ms}")


def corrupt(frame: bytes, rng: random.Random) -> bytes:
    """Change one digit between ``$`` and ``*`` after the CRC was computed.

    A CRC-16 catches every single-character change, so the frame always fails its check,
    while still looking well formed (the "value changed after checksum" case).
    """
    star = frame.rfind(b"*")
    digits = [i for i in range(1, star if star > 0 else len(frame)) if 48 <= frame[i] <= 57]
    if not digits:
        return frame
    i = rng.choice(digits)
    new = 48 + (frame[i] - 48 + rng.randint(1, 9)) % 10
    return frame[:i] + bytes([new]) + frame[i + 1 :]


def truncate(frame: bytes, rng: random.Random, *, keep_line_end: bool = True) -> bytes:
    """Cut a frame short before its checksum, as a reset or a dropped byte run would."""
    star = frame.rfind(b"*")
    cut = rng.randint(2, max(2, star - 1))
    return frame[:cut] + (LINE_END if keep_line_end else b"")
