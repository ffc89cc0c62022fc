"""KWB/1 parser: every golden frame, round trips, and arbitrary bytes never raise anything but FrameError."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import FrameError
from edge.sensors.board_protocol import (
    MAX_LINE,
    DataFrame,
    HelloFrame,
    LineSplitter,
    crc16_ccitt_false,
    format_frame,
    parse_frame,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "board_frames.jsonl"
ROWS = [json.loads(line) for line in GOLDEN.read_text().splitlines() if line.strip()]


def test_golden_file_has_valid_and_invalid_rows() -> None:
    assert any(r["valid"] for r in ROWS) and any(not r["valid"] for r in ROWS)


@pytest.mark.parametrize("row", [r for r in ROWS if r["valid"]], ids=lambda r: r["frame"][:30])
@pytest.mark.parametrize("ending", ["", "\r\n", "\n"])
def test_valid_golden_frames(row: dict[str, Any], ending: str) -> None:
    frame = parse_frame((row["frame"] + ending).encode())
    if row["kind"] == "D":
        assert frame == DataFrame(row["seq"], tuple(row["amps"]))
    else:
        assert frame == HelloFrame(row["firmware"], row["channels"], row["period_ms"])
    assert format_frame(frame) == (row["frame"] + "\r\n").encode()  # our writer agrees too


@pytest.mark.parametrize("row", [r for r in ROWS if not r["valid"]], ids=lambda r: r["why"])
def test_invalid_golden_frames(row: dict[str, Any]) -> None:
    for encoding in ("utf-8", "latin-1"):
        with pytest.raises(FrameError) as caught:
            parse_frame((row["frame"] + "\r\n").encode(encoding))
        assert caught.value.reason and " " not in caught.value.reason


def test_crc_matches_the_documented_example() -> None:
    assert crc16_ccitt_false(b"KWB,1,D,42,3,0.05,12.40,0.00") == 0xDE0C
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the CRC-16/CCITT-FALSE check value


def test_noise_before_the_last_dollar_is_discarded() -> None:
    good = format_frame(DataFrame(7, (1.5,)))
    assert parse_frame(b"\x00\xffboot noise" + good) == DataFrame(7, (1.5,))
    assert parse_frame(b"$KWB,1,D,4" + good) == DataFrame(7, (1.5,))  # a cut frame, then a whole one


def test_reasons_are_specific() -> None:
    cases = {
        b"": "no_start",
        b"$KWB,1,D,1,1,0.00": "no_checksum",
        b"$KWB,1,D,1,1,0.00*0000": "crc_mismatch",
        b"$KWB,1,D,1,1,0.00*abcd": "bad_checksum",
        b"$" + b"9" * MAX_LINE: "too_long",
    }
    for line, reason in cases.items():
        with pytest.raises(FrameError) as caught:
            parse_frame(line)
        assert caught.value.reason == reason


@given(st.binary(max_size=700))
def test_arbitrary_bytes_only_raise_frame_error(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        parse_frame(data)


def _framed(body: str) -> bytes:
    raw = body.encode("ascii", "replace")
    return b"$" + raw + f"*{crc16_ccitt_false(raw):04X}".encode()


@given(st.text(alphabet=st.sampled_from("KWB,1DH0123456789.*-$abc"), max_size=80))
def test_well_checksummed_junk_only_raises_frame_error(body: str) -> None:
    try:
        frame = parse_frame(_framed("KWB,1," + body))
    except FrameError:
        return
    assert isinstance(frame, DataFrame | HelloFrame)


amps = st.integers(min_value=0, max_value=9999).map(lambda centi: centi / 100)


@given(st.integers(0, 65535), st.lists(amps, min_size=1, max_size=32))
def test_data_frames_round_trip(seq: int, values: list[float]) -> None:
    frame = DataFrame(seq, tuple(values))
    assert parse_frame(format_frame(frame)) == frame


@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=10))
def test_line_splitter_never_yields_overlong_lines(data: bytes, cuts: list[int]) -> None:
    splitter = LineSplitter(max_line=64)
    lines: list[bytes] = []
    pos = 0
    for cut in [*cuts, len(data)]:
        lines += splitter.feed(data[pos : pos + cut])
        pos += cut
    assert all(len(line.rstrip(b"\r")) <= 64 and b"\n" not in line for line in lines)


def test_line_splitter_drops_overlong_line_and_keeps_the_next() -> None:
    splitter = LineSplitter(max_line=32)
    good = format_frame(DataFrame(1, (0.5,)))
    assert list(splitter.feed(b"x" * 50)) == []
    assert list(splitter.feed(b"y" * 50 + b"\r\n" + good[:5])) == []
    assert list(splitter.feed(good[5:])) == [good.rstrip(b"\n")]
    assert splitter.overlong == 1
    assert list(splitter.feed(b"z" * 40 + b"\n" + good)) == [good.rstrip(b"\n")]
    assert splitter.overlong == 2
