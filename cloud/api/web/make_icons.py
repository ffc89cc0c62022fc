"""Draw the web app's home-screen icons (a washing machine on blue) as PNGs, with the stdlib only.

Run ``python -m cloud.api.web.make_icons`` after changing the drawing; the PNGs are committed.
``icon-maskable-512.png`` fills the whole square and keeps the drawing inside the central
80 % that every launcher's mask leaves visible.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from cloud.api.web import STATIC_DIR

Colour = tuple[int, int, int, int]
BLUE: Colour = (29, 78, 216, 255)
WHITE: Colour = (255, 255, 255, 255)
DOOR: Colour = (191, 219, 254, 255)
CLEAR: Colour = (0, 0, 0, 0)
SAMPLES = 3  # per axis: 9 samples a pixel smooth the edges


def _rounded_box(x: float, y: float, left: float, top: float, right: float, bottom: float, radius: float) -> bool:
    cx = min(max(x, left + radius), right - radius)
    cy = min(max(y, top + radius), bottom - radius)
    return left <= x <= right and top <= y <= bottom and (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _ring(x: float, y: float, cx: float, cy: float, inner: float, outer: float) -> bool:
    d2 = (x - cx) ** 2 + (y - cy) ** 2
    return inner**2 <= d2 <= outer**2


def washer(full_bleed: bool, inset: float) -> Callable[[float, float], Colour]:
    """The colour at (x, y) in a unit square; ``inset`` shrinks the drawing towards the middle."""

    def scaled(v: float) -> float:
        return (v - 0.5) / (1 - 2 * inset) + 0.5

    def colour(x: float, y: float) -> Colour:
        if not full_bleed and not _rounded_box(x, y, 0, 0, 1, 1, 0.18):
            return CLEAR
        u, v = scaled(x), scaled(y)
        if _rounded_box(u, v, 0.2, 0.14, 0.8, 0.86, 0.07):
            if 0.26 <= v <= 0.28 and 0.24 <= u <= 0.76:
                return BLUE  # the control panel's line
            if (u - 0.31) ** 2 + (v - 0.21) ** 2 <= 0.03**2 or (u - 0.42) ** 2 + (v - 0.21) ** 2 <= 0.02**2:
                return BLUE  # knobs
            if _ring(u, v, 0.5, 0.56, 0.0, 0.17):
                return DOOR if (u - 0.45) ** 2 + (v - 0.51) ** 2 > 0.06**2 else WHITE
            if _ring(u, v, 0.5, 0.56, 0.17, 0.22):
                return BLUE
            return WHITE
        return BLUE

    return colour


def render(size: int, paint: Callable[[float, float], Colour]) -> bytes:
    rows = []
    n = SAMPLES * SAMPLES
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    c = paint((px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size)
                    for i in range(4):
                        acc[i] += c[i] * c[3] if i < 3 else c[i]
            alpha = acc[3]
            row.extend([acc[i] // alpha if alpha else 0 for i in range(3)] + [alpha // n])
        rows.append(bytes(row))
    return png(size, b"".join(rows))


def png(size: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


ICONS = {
    "icon-192.png": (192, washer(full_bleed=False, inset=0.0)),
    "icon-512.png": (512, washer(full_bleed=False, inset=0.0)),
    "icon-maskable-512.png": (512, washer(full_bleed=True, inset=0.1)),
}


def main(folder: Path = STATIC_DIR / "icons") -> None:
    folder.mkdir(exist_ok=True)
    for name, (size, paint) in ICONS.items():
        (folder / name).write_bytes(render(size, paint))
        print(f"wrote {folder / name}")


if __name__ == "__main__":
    main()
