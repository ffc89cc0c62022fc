"""Fault photos on disk: type sniffed from the bytes, size capped while reading, random names.

Nothing the client says about the file is trusted: not its name (it may be ``../../x``
or ``photo.jpg`` on a text file) and not its content type. The first bytes decide
whether it is a JPEG, PNG or WebP image; anything else is refused, so the photo route
can never be made to serve HTML or SVG. The upload is copied in chunks and abandoned as
soon as it passes the limit, so no more than one chunk is ever held in memory (Starlette
itself spools uploads over 1 MB to a temporary file). The photo is written to a temporary
file in the photo directory and renamed into place, so a crash never leaves half a photo
under a real name; the name is random, and the directory lies outside the web root.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from cloud.platform.errors import NotFound, PayloadTooLarge, UnsupportedMedia
from cloud.platform.texts import text

CHUNK_BYTES: Final = 64 * 1024
EXTENSION_BY_TYPE: Final = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    name: str
    """The generated file name in the photo directory (also kept in ``faults.photo_file``)."""
    content_type: str
    size: int


def sniff_image_type(head: bytes) -> str | None:
    """The image type the first bytes show (JPEG, PNG or WebP), or None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def save_photo(source: BinaryIO, photo_dir: Path, *, max_bytes: int) -> StoredPhoto:
    """Copy an upload into ``photo_dir`` under a random name; refuse a non-image or an oversize one.

    Raises ``PayloadTooLarge`` (code ``photo_too_large``) past ``max_bytes`` and
    ``UnsupportedMedia`` (code ``unsupported_photo``) unless the bytes are JPEG, PNG or WebP.
    Nothing is left behind when it refuses.
    """
    photo_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=photo_dir, prefix=".upload-", suffix=".part")  # mode 0600
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            head, size = _copy_capped(source, out, max_bytes)
            out.flush()
            os.fsync(out.fileno())
        content_type = sniff_image_type(head)
        if content_type is None:
            raise UnsupportedMedia(text("error.fault.unsupported_photo"), code="unsupported_photo")
        name = secrets.token_hex(16) + EXTENSION_BY_TYPE[content_type]
        os.replace(tmp, photo_dir / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_directory(photo_dir)
    return StoredPhoto(name, content_type, size)


def _copy_capped(source: BinaryIO, out: BinaryIO, max_bytes: int) -> tuple[bytes, int]:
    """Copy chunk by chunk, stopping as soon as ``max_bytes`` is passed; returns (first bytes, size)."""
    head = b""
    size = 0
    while chunk := source.read(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        if len(head) < 16:
            head += chunk[: 16 - len(head)]
        out.write(chunk)
    return head, size


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        text("error.fault.photo_too_large", kib=max_bytes // 1024),
        code="photo_too_large",
        max_bytes=max_bytes,
    )


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); harmless to skip where directories cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def photo_path(photo_dir: Path, name: str) -> Path:
    """Where a stored photo is; ``NotFound`` for a name we could not have generated, or a missing file."""
    if not _STORED_NAME.match(name):
        raise NotFound(text("error.fault.photo_unknown"))
    path = photo_dir / name
    if not path.is_file():
        raise NotFound(text("error.fault.photo_missing"), code="photo_missing")
    return path


def delete_photo(photo_dir: Path, name: str) -> None:
    """Remove a photo whose report was not saved after all (the transaction failed)."""
    if _STORED_NAME.match(name):
        (photo_dir / name).unlink(missing_ok=True)
