"""Sensor silence: on the clock and in real time, told apart as a silent board or a missing channel."""

from __future__ import annotations

from edge.sensors.silence import SilenceWatch


def test_silence_needs_both_clock_and_real_time() -> None:
    watch = SilenceWatch(["w1", "d1"], silence_s=60, now=0.0, mono=0.0)
    assert watch.silent(59.0, 100.0) == {}
    assert watch.silent(600.0, 1.0) == {}  # a 600x clock: ten clock minutes are one real second
    assert watch.silent(60.0, 5.0) == {"w1": "board_silent", "d1": "board_silent"}


def test_a_missing_channel_is_told_from_a_silent_board() -> None:
    watch = SilenceWatch(["w1", "d1"], silence_s=10, now=0.0, mono=0.0)
    watch.frame(30.0, 30.0, ["w1"])  # frames carry only the washer's channel
    assert watch.silent(35.0, 35.0) == {"d1": "channel_missing"}
    assert watch.silent(45.0, 45.0) == {"w1": "board_silent", "d1": "board_silent"}
