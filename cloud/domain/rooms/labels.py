"""A sheet of stickers for a room's machines: one QR code (its claim link) and name per machine.

The sheet is laid out once, in millimetres, as boxes and lines of text, then written as PDF
(reportlab), SVG (by hand: a few paths and texts) or PNG (Pillow), so the three formats show
the same stickers in the same places. The grid is the common 2 x 4 sheet of 99.1 x 67.7 mm
labels on A4 (Avery L7165 and its clones): a QR code of 50 mm scans from arm's length on a
machine's front. More than eight machines take more pages: more PDF pages, or one SVG or PNG
file per page (``labels.svg``, ``labels-2.svg``...).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape

from sqlalchemy import Connection

from cloud.domain.machines.views import views_of
from cloud.domain.rooms.claim_links import claim_url, machine_title, qr_code
from cloud.platform import texts
from cloud.platform.errors import InvalidInput, NotFound
from cloud.platform.storage import repository as repo
from kywash.contract import MachineKind

PAGE_W_MM: Final = 210.0
PAGE_H_MM: Final = 297.0
COLUMNS: Final = 2
ROWS: Final = 4
STICKER_W_MM: Final = 99.1
STICKER_H_MM: Final = 67.7
LEFT_MM: Final = 4.65
TOP_MM: Final = 13.1
PITCH_X_MM: Final = 101.6
PITCH_Y_MM: Final = 67.7
QR_MM: Final = 50.0
QR_BORDER: Final = 2
"""Modules of quiet zone inside the QR box; the sticker's white margin adds more."""
FORMATS: Final = ("pdf", "svg", "png")
PNG_DPI: Final = 300


@dataclass(frozen=True, slots=True)
class Sticker:
    name: str
    label: str | None
    place: str
    url: str


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    """The baseline, from the top of the page (mm)."""
    size_mm: float
    text: str
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class Page:
    dark: list[Box]
    """The QR codes' dark modules, merged into runs along each row."""
    outlines: list[Box]
    """Each sticker's edge, drawn faintly as a guide for cutting plain paper."""
    texts: list[Text]


def stickers_of(conn: Connection, site: str, room: str, base_url: str) -> list[Sticker]:
    """The room's machines, washers then dryers by number; ``NotFound`` for an unknown room."""
    record = repo.find_room(conn, site, room)
    if record is None:
        raise NotFound(texts.text("error.room.no_such_room", site=site, room=room), code="no_such_room")
    views = sorted(
        views_of(conn, room_ids=[record.id]), key=lambda v: (v.public.kind is not MachineKind.WASHER, v.public.number)
    )
    if not views:
        raise InvalidInput(texts.text("error.labels.no_machines", site=site, room=room))
    return [
        Sticker(
            name=machine_title(view.public.kind.value, view.public.number),
            label=view.public.label,
            place=f"{site} · {room}",
            url=claim_url(base_url, site, room, view.public.id),
        )
        for view in views
    ]


def layout(stickers: Sequence[Sticker]) -> list[Page]:
    per_page = COLUMNS * ROWS
    return [_page(stickers[start : start + per_page]) for start in range(0, len(stickers), per_page)]


def _page(stickers: Sequence[Sticker]) -> Page:
    page = Page([], [], [])
    for index, sticker in enumerate(stickers):
        x = LEFT_MM + (index % COLUMNS) * PITCH_X_MM
        y = TOP_MM + (index // COLUMNS) * PITCH_Y_MM
        page.outlines.append(Box(x, y, STICKER_W_MM, STICKER_H_MM))
        qr_x, qr_y = x + 4, y + (STICKER_H_MM - QR_MM) / 2
        page.dark.extend(_modules(sticker.url, qr_x, qr_y))
        text_x = qr_x + QR_MM + 3
        page.texts.append(Text(text_x, y + 20, 6.0, sticker.name, bold=True))
        line = y + 27
        if sticker.label:
            page.texts.append(Text(text_x, line, 3.2, sticker.label[:22]))
            line += 5
        page.texts.append(Text(text_x, line + 3, 3.6, "Scan to claim", bold=True))
        page.texts.append(Text(text_x, line + 8, 3.2, "this machine"))
        page.texts.append(Text(text_x, y + STICKER_H_MM - 9, 2.8, sticker.place))
    return page


def _modules(url: str, x: float, y: float) -> Iterator[Box]:
    matrix = qr_code(url).matrix
    size = len(matrix) + 2 * QR_BORDER
    module = QR_MM / size
    for row, values in enumerate(matrix):
        col = 0
        while col < len(values):
            if not values[col]:
                col += 1
                continue
            start = col
            while col < len(values) and values[col]:
                col += 1
            yield Box(x + (start + QR_BORDER) * module, y + (row + QR_BORDER) * module, (col - start) * module, module)


def format_of(path: Path) -> str:
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise InvalidInput(texts.text("error.labels.format", name=path.name))
    return kind


def page_paths(path: Path, pages: int) -> list[Path]:
    """Where each page goes for one-page formats: ``labels.svg``, ``labels-2.svg``..."""
    return [path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}") for n in range(1, pages + 1)]


def write_sheet(stickers: Sequence[Sticker], path: Path) -> list[Path]:
    """Write the sheet in the format ``path``'s extension names; returns the files written."""
    kind = format_of(path)
    pages = layout(stickers)
    if kind == "pdf":
        path.write_bytes(pdf_bytes(pages))
        return [path]
    paths = page_paths(path, len(pages))
    for page, out in zip(pages, paths, strict=True):
        out.write_bytes(svg_bytes(page) if kind == "svg" else png_bytes(page))
    return paths


def pdf_bytes(pages: Sequence[Page]) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(PAGE_W_MM * mm, PAGE_H_MM * mm), pageCompression=1)
    canvas.setTitle("KY Wash machine labels")
    for page in pages:
        canvas.setStrokeColorRGB(0.8, 0.8, 0.8)
        canvas.setLineWidth(0.2)
        for box in page.outlines:
            canvas.roundRect(box.x * mm, (PAGE_H_MM - box.y - box.h) * mm, box.w * mm, box.h * mm, 3 * mm)
        canvas.setFillColorRGB(0, 0, 0)
        path = canvas.beginPath()
        for box in page.dark:
            path.rect(box.x * mm, (PAGE_H_MM - box.y - box.h) * mm, box.w * mm, box.h * mm)
        canvas.drawPath(path, stroke=0, fill=1)
        for text in page.texts:
            canvas.setFont("Helvetica-Bold" if text.bold else "Helvetica", text.size_mm * mm)
            canvas.drawString(text.x * mm, (PAGE_H_MM - text.y) * mm, text.text)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def svg_bytes(page: Page) -> bytes:
    def n(value: float) -> str:
        return f"{value:.3f}".rstrip("0").rstrip(".")

    modules = "".join(f"M{n(b.x)} {n(b.y)}h{n(b.w)}v{n(b.h)}h-{n(b.w)}z" for b in page.dark)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{n(PAGE_W_MM)}mm" height="{n(PAGE_H_MM)}mm" '
        f'viewBox="0 0 {n(PAGE_W_MM)} {n(PAGE_H_MM)}">',
        "<title>KY Wash machine labels</title>",
        f'<rect width="{n(PAGE_W_MM)}" height="{n(PAGE_H_MM)}" fill="#fff"/>',
        *(
            f'<rect x="{n(b.x)}" y="{n(b.y)}" width="{n(b.w)}" height="{n(b.h)}" rx="3" '
            'fill="none" stroke="#ccc" stroke-width="0.2"/>'
            for b in page.outlines
        ),
        f'<path class="qr" fill="#000" shape-rendering="crispEdges" d="{modules}"/>',
        *(
            f'<text x="{n(t.x)}" y="{n(t.y)}" font-family="Helvetica, Arial, sans-serif" '
            f'font-size="{n(t.size_mm)}" font-weight="{"bold" if t.bold else "normal"}">{escape(t.text)}</text>'
            for t in page.texts
        ),
        "</svg>",
    ]
    return "\n".join(parts).encode()


def png_bytes(page: Page, dpi: int = PNG_DPI) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    scale = dpi / 25.4

    def px(value: float) -> int:
        return round(value * scale)

    image = Image.new("L", (px(PAGE_W_MM), px(PAGE_H_MM)), 255)
    draw = ImageDraw.Draw(image)
    for box in page.outlines:
        draw.rounded_rectangle((px(box.x), px(box.y), px(box.x + box.w), px(box.y + box.h)), px(3), outline=200)
    for box in page.dark:
        draw.rectangle((px(box.x), px(box.y), px(box.x + box.w) - 1, px(box.y + box.h) - 1), fill=0)
    for text in page.texts:
        font = ImageFont.load_default(size=px(text.size_mm))
        draw.text(
            (px(text.x), px(text.y)), text.text, fill=0, font=font, anchor="ls", stroke_width=1 if text.bold else 0
        )
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()
