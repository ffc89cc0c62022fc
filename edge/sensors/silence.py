"""Notices machines whose current sensor has gone quiet: the board fell silent, or lost a channel.

Silence is measured on the agent's clock *and* in real time: a machine is silent after
``silence_s`` of clock time and at least ``min(5 s, silence_s)`` of real time without a
reading. On the Pi the two agree; under a simulation clock running hundreds of times
faster, the real-time floor keeps a scheduling hiccup from looking like a dead sensor.
Pure: times come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable

REAL_FLOOR_S = 5.0


class SilenceWatch:
    """When each machine's current was last heard, and why a silent one is silent."""

    def __init__(self, machines: Iterable[str], silence_s: float, now: float, mono: float) -> None:
        self.silence_s = silence_s
        self.real_floor_s = min(REAL_FLOOR_S, silence_s)
        self._heard = dict.fromkeys(machines, (now, mono))
        self._last_frame = (now, mono)

    def frame(self, ts: float, mono: float, machines: Iterable[str]) -> None:
        """A board frame arrived carrying these machines' channels."""
        self._last_frame = (ts, mono)
        for machine in machines:
            self._heard[machine] = (ts, mono)

    def silent(self, now: float, mono: float) -> dict[str, str]:
        """Silent machines and the reason: ``board_silent`` or ``channel_missing``."""
        frames_flow = now - self._last_frame[0] < self.silence_s or mono - self._last_frame[1] < self.real_floor_s
        reason = "channel_missing" if frames_flow else "board_silent"
        return {
            machine: reason
            for machine, (ts, heard_mono) in self._heard.items()
            if now - ts >= self.silence_s and mono - heard_mono >= self.real_floor_s
        }
