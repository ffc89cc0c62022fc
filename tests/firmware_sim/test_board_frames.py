"""The simulator's frame encoder against the shared golden frames and an independent CRC."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_sim.board_frames import corrupt, encode_data_frame, encode_hello, format_amps, truncate
from tests.firmware_sim.kwb_check import check, crc_ccitt_false

GOLDEN = Path(__file__).parents[1] / "golden" / "board_frames.jsonl"
ROWS = [json.loads(line) for line in GOLDEN.read_text().splitlines() if line.strip()]
VALID = [row for row in ROWS if row["valid"]]


def test_golden_file_has_both_kinds() -> None:
    assert {row["kind"] for row in VALID} == {"D", "H"}


@pytest.mark.parametrize("row", VALID, ids=[row["frame"][:40] for row in VALID])
def test_encoder_matches_golden_frame(row: dict[str, Any]) -> None:
    if row["kind"] == "D":
        encoded = encode_data_frame(row["seq"], row["amps"])
    else:
        encoded = encode_hello(row["firmware"], row["channels"], row["period_ms"])
    assert encoded == row["frame"].encode("ascii") + b"\r\n"


def test_independent_crc_agrees_with_the_documented_example() -> None:
    assert crc_ccitt_false(b"KWB,1,D,42,3,0.05,12.40,0.00") == 0xDE0C
    assert crc_ccitt_false(b"123456789") == 0x29B1  # the CRC-16/CCITT-FALSE check value


@pytest.mark.parametrize(
    ("amps", "text"),
    [
        (0.0, "0.00"),
        (-0.001, "0.00"),
        (-5.0, "0.00"),
        (float("nan"), "0.00"),
        (0.004, "0.00"),
        (0.005, "0.01"),
        (12.4, "12.40"),
        (99.99, "99.99"),
        (99.996, "99.99"),
        (250.0, "99.99"),
        (float("inf"), "99.99"),
        (float("-inf"), "0.00"),
    ],
)
def test_amps_are_clamped_with_two_decimals(amps: float, text: str) -> None:
    assert format_amps(amps) == text


def test_sequence_wraps_at_65536() -> None:
    assert encode_data_frame(65536, [0.0]) == encode_data_frame(0, [0.0])
    assert b",D,1," in encode_data_frame(65537, [0.0])


@pytest.mark.parametrize("channels", [0, 33])
def test_channel_count_is_bounded(channels: int) -> None:
    with pytest.raises(ValueError, match="channels"):
        encode_data_frame(1, [0.0] * channels)


def test_hello_refuses_a_firmware_name_outside_the_alphabet() -> None:
    with pytest.raises(ValueError, match="firmware"):
        encode_hello("1.0 beta", 6, 1000)


@given(
    seq=st.integers(min_value=0, max_value=10**6),
    amps=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=32),
)
def test_any_data_frame_verifies_independently(seq: int, amps: list[float]) -> None:
    frame = encode_data_frame(seq, amps)
    assert frame.endswith(b"\r\n") and len(frame) <= 512
    parsed = check(frame)
    assert parsed is not None and parsed.kind == "D"
    assert parsed.seq == seq % 65536
    assert len(parsed.amps) == len(amps)
    for text, value in zip(parsed.fields[2:], parsed.amps, strict=True):
        assert 0.0 <= value <= 99.99
        assert len(text.split(".")[1]) == 2


@given(
    firmware=st.text(alphabet="0123456789abcXYZ.-", min_size=1, max_size=20),
    channels=st.integers(1, 32),
    period_ms=st.integers(1, 600_000),
)
def test_any_hello_verifies_independently(firmware: str, channels: int, period_ms: int) -> None:
    parsed = check(encode_hello(firmware, channels, period_ms))
    assert parsed is not None and parsed.kind == "H"
    assert parsed.fields == [firmware, str(channels), str(period_ms)]


@given(seed=st.integers(0, 2**32), amps=st.lists(st.floats(0, 99), min_size=1, max_size=12))
def test_damaged_frames_never_verify(seed: int, amps: list[float]) -> None:
    frame = encode_data_frame(7, amps)
    rng = random.Random(seed)
    corrupted = corrupt(frame, rng)
    assert corrupted != frame and len(corrupted) == len(frame)
    assert check(corrupted) is None
    assert check(truncate(frame, rng)) is None
    assert not truncate(frame, rng, keep_line_end=False).endswith(b"\n")
