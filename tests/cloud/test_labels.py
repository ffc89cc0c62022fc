"""``kywash cloud labels``: a sticker sheet per room, in PDF, SVG and PNG, whose QR codes decode
back to each machine's claim link; an unknown room is refused with exit status 2."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image, ImageDraw
from starlette.testclient import TestClient

from cloud.runtime.cli import cloud_command
from kywash.contract import MachineInfo, MachineKind
from tests.cloud.fake_edge import FakeEdge

BASE = "https://wash.example.edu"
MACHINES = tuple(MachineInfo(id=f"washer-{n}", kind=MachineKind.WASHER, number=n) for n in range(1, 7)) + tuple(
    MachineInfo(id=f"dryer-{n}", kind=MachineKind.DRYER, number=n, label="by the door" if n == 1 else None)
    for n in range(1, 5)
)
"""Ten machines: more than one sheet of eight."""
SVG_RUN = re.compile(r"M([\d.]+) ([\d.]+)h([\d.]+)v([\d.]+)h-[\d.]+z")


@pytest.fixture
def room(client: TestClient, feed: Callable[..., list[Any]], unique_site: str) -> FakeEdge:
    edge = FakeEdge(site=unique_site, room="laundry-1", machines=MACHINES)
    feed(edge.info(), edge.status(online=True))
    return edge


def labels(database_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cloud_command, ["--database-url", database_url, "labels", *args])
    return result.exit_code, result.stdout, result.stderr


def links(room: FakeEdge) -> set[str]:
    return {f"{BASE}/claim/{room.site}/{room.room}/{m.id}" for m in MACHINES}


def decoded(image: Image.Image) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(image)]


def make(sqlite_url: str, room: FakeEdge, out: Path) -> None:
    code, stdout, stderr = labels(
        sqlite_url, "--site", room.site, "--room", room.room, "--base-url", BASE, "--out", str(out)
    )
    assert (code, stderr) == (0, ""), stderr
    assert f"10 labels for {room.site}/{room.room}" in stdout


def test_a_pdf_sheet_holds_every_machines_link(sqlite_url: str, room: FakeEdge, tmp_path: Path) -> None:
    out = tmp_path / "labels.pdf"
    make(sqlite_url, room, out)
    pdf = pypdfium2.PdfDocument(out)
    assert len(pdf) == 2  # eight stickers a sheet
    found: list[str] = []
    texts = ""
    for page in pdf:
        width, height = page.get_size()
        assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4
        found += decoded(page.render(scale=200 / 72).to_pil())
        texts += page.get_textpage().get_text_range()
    assert sorted(found) == sorted(links(room))
    assert all(f"{kind} {n}" in texts for kind, n in [("Washer", 1), ("Washer", 6), ("Dryer", 4)])
    assert "by the door" in texts


def test_an_svg_sheet_holds_every_machines_link(sqlite_url: str, room: FakeEdge, tmp_path: Path) -> None:
    out = tmp_path / "labels.svg"
    make(sqlite_url, room, out)
    pages = [out, tmp_path / "labels-2.svg"]
    found: list[str] = []
    for page in pages:
        svg = page.read_text(encoding="utf-8")
        assert 'width="210mm" height="297mm"' in svg
        found += decoded(rasterise(svg))
    assert sorted(found) == sorted(links(room))
    assert ">Washer 1</text>" in pages[0].read_text(encoding="utf-8")
    assert ">Dryer 4</text>" in pages[1].read_text(encoding="utf-8")


def test_a_png_sheet_holds_every_machines_link(sqlite_url: str, room: FakeEdge, tmp_path: Path) -> None:
    out = tmp_path / "labels.png"
    make(sqlite_url, room, out)
    found: list[str] = []
    for page in (out, tmp_path / "labels-2.png"):
        image = Image.open(page)
        assert image.size == (2480, 3508)  # A4 at 300 dpi
        found += decoded(image)
    assert sorted(found) == sorted(links(room))


def test_an_unknown_room_is_refused(sqlite_url: str, room: FakeEdge, tmp_path: Path) -> None:
    out = tmp_path / "labels.pdf"
    code, _, stderr = labels(
        sqlite_url, "--site", room.site, "--room", "nowhere", "--base-url", BASE, "--out", str(out)
    )
    assert code == 2
    assert f"error: no room {room.site}/nowhere" in stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", BASE, "--out", "labels.doc"], "choose a .pdf, .svg or .png"),
        (["--out", "labels.pdf"], "--base-url"),
        (["--base-url", "wash.example.edu", "--out", "labels.pdf"], "--base-url"),
    ],
)
def test_bad_options_are_refused(
    sqlite_url: str, room: FakeEdge, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [str(tmp_path / a) if a.startswith("labels.") else a for a in args]
    code, _, stderr = labels(sqlite_url, "--site", room.site, "--room", room.room, *args)
    assert code == 2
    assert message in stderr


def rasterise(svg: str, px_per_mm: float = 8.0) -> Image.Image:
    """Draw the sheet's QR modules (the one path of runs ``labels.svg_bytes`` writes) into an image."""
    image = Image.new("L", (round(210 * px_per_mm), round(297 * px_per_mm)), 255)
    draw = ImageDraw.Draw(image)
    path = re.search(r'<path class="qr"[^>]* d="([^"]*)"', svg)
    assert path is not None
    for x, y, w, h in (map(float, run) for run in SVG_RUN.findall(path.group(1))):
        box = (x * px_per_mm, y * px_per_mm, (x + w) * px_per_mm - 1, (y + h) * px_per_mm - 1)
        draw.rectangle(box, fill=0)
    return image


def test_kywash_labels_is_the_same_command_with_its_own_database_option(
    sqlite_url: str, room: FakeEdge, tmp_path: Path
) -> None:
    """The issue's spelling, ``kywash labels --site S --room R --base-url URL --out F``."""
    from launchers.cli import main

    out = tmp_path / "labels.pdf"
    args = ["labels", "--site", room.site, "--room", room.room, "--base-url", BASE, "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert f"10 labels for {room.site}/{room.room}" in result.stdout and out.exists()
