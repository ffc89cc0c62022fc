"""The link a machine's QR code holds: ``{base}/claim/{site}/{room}/{machine}``, and its QR code.

One definition for the wall display's codes and the printed labels, so a sticker and the
screen beside it always open the same page. The ids are the contract's ``[a-z0-9_-]`` ids,
quoted all the same so a link can never carry anything else.
"""

from __future__ import annotations

import io
from urllib.parse import quote

import segno

QR_ERROR = "m"
"""15% of the code may be dirty or scratched and it still reads: a sticker on a washer gets both."""


def claim_path(site: str, room: str, machine: str) -> str:
    return "/claim/" + "/".join(quote(part, safe="") for part in (site, room, machine))


def claim_url(base_url: str, site: str, room: str, machine: str) -> str:
    return base_url.rstrip("/") + claim_path(site, room, machine)


def machine_title(kind: str, number: int) -> str:
    """How the room names a machine: "Washer 2"."""
    return f"{kind.capitalize()} {number}"


def qr_code(url: str) -> segno.QRCode:
    return segno.make_qr(url, error=QR_ERROR)


def qr_svg(url: str, title: str) -> str:
    """The code as a standalone SVG that scales to its box (no fixed size: the page sets it),
    dark on a white quiet zone so it reads on a dark screen too."""
    out = io.BytesIO()
    qr_code(url).save(
        out,
        kind="svg",
        border=2,
        dark="#000",
        light="#fff",
        xmldecl=False,
        title=title,
        svgclass="qr",
        lineclass=None,
        omitsize=True,
    )
    return out.getvalue().decode()
