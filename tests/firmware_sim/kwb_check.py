"""An independent reading of KWB/1 frames, written from the protocol document for these tests.

Deliberately not the simulator's encoder (nor the edge's parser): a bitwise CRC and a
plain split, so a mistake shared by both sides of the real code would still show here.
"""

from __future__ import annotations

from dataclasses import dataclass


def crc_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


@dataclass(frozen=True)
class Frame:
    kind: str
    fields: list[str]

    @property
    def seq(self) -> int:
        return int(self.fields[0])

    @property
    def amps(self) -> list[float]:
        return [float(a) for a in self.fields[2:]]


def check(line: bytes) -> Frame | None:
    """The frame on this line if it is intact (CRC right, well formed), else None."""
    line = line.rstrip(b"\r\n")
    if not line.startswith(b"$") or line.count(b"*") != 1:
        return None
    body, crc = line[1:].split(b"*")
    if len(crc) != 4 or crc.upper() != crc or int(crc, 16) != crc_ccitt_false(body):
        return None
    parts = body.decode("ascii").split(",")
    if parts[:2] != ["KWB", "1"] or parts[2] not in ("D", "H"):
        return None
    frame = Frame(parts[2], parts[3:])
    if frame.kind == "D" and int(frame.fields[1]) != len(frame.fields) - 2:
        return None
    return frame
