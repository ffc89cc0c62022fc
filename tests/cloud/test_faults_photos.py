"""The photo store on its own: sniffing, the size cap while streaming, no leftovers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cloud.domain.faults import photos
from cloud.platform.errors import NotFound, PayloadTooLarge, UnsupportedMedia
from tests.cloud.faults_support import JPEG, PNG, WEBP


class EndlessUpload(io.RawIOBase):
    """A PNG that never ends, counting what was read from it."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = (PNG + bytes(len(buffer)))[: len(buffer)] if self.sent == 0 else bytes(len(buffer))
        buffer[: len(data)] = data
        self.sent += len(data)
        return len(data)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),  # RIFF, but audio
        (b"GIF89a" + bytes(10), None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"\x89PN", None),
        (b"", None),
    ],
)
def test_the_first_bytes_decide_the_type(head: bytes, expected: str | None) -> None:
    assert photos.sniff_image_type(head[:16]) == expected


def test_an_endless_upload_is_cut_off_just_past_the_limit(tmp_path: Path) -> None:
    upload = EndlessUpload()
    with pytest.raises(PayloadTooLarge) as refused:
        photos.save_photo(io.BufferedReader(upload, photos.CHUNK_BYTES), tmp_path, max_bytes=200_000)
    assert refused.value.code == "photo_too_large"
    assert upload.sent <= 200_000 + 2 * photos.CHUNK_BYTES
    assert list(tmp_path.iterdir()) == []


def test_a_refused_upload_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMedia) as refused:
        photos.save_photo(io.BytesIO(b"MZ\x90\x00 an executable"), tmp_path, max_bytes=1024)
    assert refused.value.code == "unsupported_photo"
    assert list(tmp_path.iterdir()) == []


def test_a_saved_photo_has_a_random_private_name(tmp_path: Path) -> None:
    first = photos.save_photo(io.BytesIO(JPEG), tmp_path / "photos", max_bytes=1024)
    second = photos.save_photo(io.BytesIO(JPEG), tmp_path / "photos", max_bytes=1024)
    assert first.name != second.name and first.name.endswith(".jpg")
    assert (first.content_type, first.size) == ("image/jpeg", len(JPEG))
    stored = photos.photo_path(tmp_path / "photos", first.name)
    assert stored.read_bytes() == JPEG
    assert stored.stat().st_mode & 0o077 == 0  # readable by the service only


@pytest.mark.parametrize("name", ["../cloud.db", ".upload-x.part", "a" * 32 + ".svg", "/etc/passwd"])
def test_only_names_we_could_have_generated_are_served(tmp_path: Path, name: str) -> None:
    with pytest.raises(NotFound):
        photos.photo_path(tmp_path, name)
    photos.delete_photo(tmp_path, name)  # and never deleted


def test_a_photo_missing_on_disk_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as missing:
        photos.photo_path(tmp_path, "0" * 32 + ".png")
    assert missing.value.code == "photo_missing"
