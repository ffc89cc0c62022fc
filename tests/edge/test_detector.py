"""The cycle detector: table-driven scenarios from real machines, and what it learns and restores.

Every scenario is a script of 1 Hz current samples (``steady``, ``tumble``, ``pulses``), door
moves and ticks, starting at t = 0, and the exact events it must give: (at, type, state,
cycle_seconds, reason). Times in the comments: "quiet at Q" is the first sample of the
quiet stretch, which is where a finished cycle's ``cycle_seconds`` stop counting.
"""

from __future__ import annotations

import queue
from dataclasses import replace
from typing import Any

import pytest
from _pytest.mark.structures import ParameterSet
from gpiozero.pins.mock import MockFactory

from edge.detector import CycleDetector, Transition
from edge.learning import CycleFacts, Learned
from edge.sensors.door import DoorSwitch
from edge.thresholds import DEFAULT_THRESHOLDS, DRYER_THRESHOLDS, WASHER_THRESHOLDS
from kywash.clock import FakeClock
from kywash.contract import Door, EventType, MachineKind, MachineState
from tests.edge.fakes import Observed, Player, Samples, Step, door, ev, observed, pulses, steady, tick, tumble

E, S = EventType, MachineState
WASHER, DRYER = MachineKind.WASHER, MachineKind.DRYER


def profile(
    *durations: float,
    tail_a: float = 0.03,
    tail_low: bool = False,
    signature: bool = True,
    longest_pause_s: float = 0.0,
    signature_pauses: int = 0,
) -> Learned:
    """A machine that learned cycles of these lengths, all ending alike, on a 0.03 A standby."""
    cycles = [CycleFacts(d, 2 * d, longest_pause_s, tail_a, tail_low, signature, None, 0.0) for d in durations]
    return replace(Learned.of_cycles(cycles, standby=0.03), signature_pauses=signature_pauses)


def final_spins(*pieces: int, amps: float = 3.0, between_s: int = 20) -> Samples:
    """A washer's final spins in pieces of these lengths, with 0.6 A redistribution tumbles between."""
    out = steady(amps, pieces[0])
    for seconds in pieces[1:]:
        out = out + steady(0.6, between_s) + steady(amps, seconds)
    return out


def observe(detector: CycleDetector) -> dict[str, object]:
    """What a scenario may check on the detector after its script (``after=``)."""
    learned = detector.learned
    last = learned.cycles[-1] if learned.cycles else None
    return {
        "state": detector.state,
        "started_at": detector.cycle_started_at,
        "expected_end": detector.expected_end,
        "cycles": len(learned.cycles),
        "learned": learned.learned,
        "standby": learned.standby,
        "revision": detector.learned_revision,
        "signature_pauses": learned.signature_pauses,
        "last_cycle": None
        if last is None
        else (last.duration_s, last.longest_pause_s, last.tail_low, last.end_signature),
    }


def case(
    name: str,
    kind: MachineKind,
    script: list[Step],
    expected: list[Observed],
    *,
    learned: Learned | None = None,
    after: dict[str, object] | None = None,
    bug: str | None = None,
) -> ParameterSet:
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(kind, script, expected, learned, after or {}, id=name, marks=marks)


STARTS = [
    case(
        "one- and two-second spikes are not activity: nothing starts",
        WASHER,
        [steady(0.02, 60) + steady(5.0, 1) + steady(0.02, 60) + steady(5.0, 2) + steady(0.02, 60)],
        [],
    ),
    case("a washer drawing just below on_amps (0.11 A) never starts", WASHER, [steady(0.11, 900)], []),
    case(
        "an eco washer's 0.2 A is activity: started 10 s after its first active sample",
        WASHER,
        [steady(0.02, 30) + steady(0.2, 600)],
        [ev(40, E.CYCLE_STARTED, S.RUNNING)],
        after={"started_at": 30.0, "state": S.RUNNING},
    ),
    case(
        "a dryer starts after its 90 s start dwell",
        DRYER,
        [steady(0.02, 30) + steady(3.5, 200)],
        [ev(120, E.CYCLE_STARTED, S.RUNNING)],
        after={"started_at": 30.0},
    ),
    case(
        "a 60 s tumble is shorter than a dryer's start dwell: nothing starts",
        DRYER,
        [steady(0.02, 30) + steady(1.0, 60) + steady(0.02, 300)],
        [],
    ),
    case(
        "a washer idling at 0.2 A between heating bursts stays running",
        WASHER,
        [steady(12.0, 300) + steady(0.2, 1200) + steady(12.0, 300)],
        [ev(10, E.CYCLE_STARTED, S.RUNNING)],
        after={"state": S.RUNNING},
    ),
    case(
        "a dryer's motor-only stretch (0.9 A while the thermostat has the heater off) stays running",
        DRYER,
        [steady(15.0, 1200) + steady(0.9, 180) + steady(15.0, 600)],
        [ev(90, E.CYCLE_STARTED, S.RUNNING)],
        after={"state": S.RUNNING},
    ),
    case(
        "a tumble's 2 s rests are not quiet: a dryer turning 12 s on, 2 s off starts 90 s after the first turn",
        DRYER,
        [steady(0.02, 60) + tumble(1.0, 200, rest_s=2)],
        [ev(150, E.CYCLE_STARTED, S.RUNNING)],
    ),
    case(
        "a tumble's 3 s rests are not quiet: a dryer turning 12 s on, 3 s off starts 90 s after the first turn",
        DRYER,
        [steady(0.02, 60) + tumble(1.0, 200, rest_s=3)],
        [ev(150, E.CYCLE_STARTED, S.RUNNING)],
    ),
]

QUIET_LEVELS = [
    case(
        "cold dryer: quiet at 0.07 A is off (below off_amps 0.08): ending at 15 s, finished at 40 s",
        DRYER,
        [steady(3.5, 1200) + steady(0.07, 60)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(1215, E.CYCLE_ENDING, S.ENDING),
            ev(1240, E.CYCLE_FINISHED, S.FINISHED, 1200),
        ],
    ),
    case(
        "cold dryer: quiet at 0.09 A is low (above off_amps): ending at 60 s, finished at 1080 s",
        DRYER,
        [steady(3.5, 1200) + steady(0.09, 1100)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(1260, E.CYCLE_ENDING, S.ENDING),
            ev(2280, E.CYCLE_FINISHED, S.FINISHED, 1200),
        ],
    ),
    case(
        "standby learned at 0.065 A: quiet at 0.085 A is off (below standby + 0.03), finished at 40 s",
        DRYER,
        [steady(0.065, 120) + steady(3.5, 1200) + steady(0.085, 60)],  # quiet at Q = 1320
        [
            ev(210, E.CYCLE_STARTED, S.RUNNING),
            ev(1335, E.CYCLE_ENDING, S.ENDING),
            ev(1360, E.CYCLE_FINISHED, S.FINISHED, 1200),
        ],
        after={"standby": pytest.approx(0.065)},
    ),
    case(
        "standby learned at 0.02 A: quiet at 0.07 A is low (off when cold), finished at 1080 s",
        DRYER,
        [steady(0.02, 120) + steady(3.5, 1200) + steady(0.07, 1100)],  # quiet at Q = 1320
        [
            ev(210, E.CYCLE_STARTED, S.RUNNING),
            ev(1380, E.CYCLE_ENDING, S.ENDING),
            ev(2400, E.CYCLE_FINISHED, S.FINISHED, 1200),
        ],
        after={"standby": pytest.approx(0.02)},
    ),
]

WASHER_ENDS = [
    case(
        "washer's final spin then off: ending at 15 s, finished at 60 s of quiet",
        WASHER,
        [steady(0.02, 30) + steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 120)],  # Q = 1290
        [
            ev(40, E.CYCLE_STARTED, S.RUNNING),
            ev(1305, E.CYCLE_ENDING, S.ENDING),
            ev(1350, E.CYCLE_FINISHED, S.FINISHED, 1260),
        ],
    ),
    case(
        "final spins in pieces (3 x 10 s between redistribution tumbles) make the 30 s signature",
        WASHER,
        [steady(1.0, 1200) + final_spins(10, 10, 10) + steady(0.02, 120)],  # Q = 1270
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1285, E.CYCLE_ENDING, S.ENDING),
            ev(1330, E.CYCLE_FINISHED, S.FINISHED, 1270),
        ],
    ),
    case(
        "29 s of spin (10 + 10 + 9) is no signature: ending after 60 s, finished after 1500 s",
        WASHER,
        [steady(1.0, 1200) + final_spins(10, 10, 9) + steady(0.02, 1600)],  # Q = 1269
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1329, E.CYCLE_ENDING, S.ENDING),
            ev(2769, E.CYCLE_FINISHED, S.FINISHED, 1269),
        ],
    ),
    case(
        "a spin 5 minutes before the quiet still counts (within the 6 min window)",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.6, 300) + steady(0.02, 120)],  # Q = 1560
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1575, E.CYCLE_ENDING, S.ENDING),
            ev(1620, E.CYCLE_FINISHED, S.FINISHED, 1560),
        ],
    ),
    case(
        "a spin more than 6 minutes before the quiet does not count (a tumble came between)",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.6, 370) + steady(0.02, 1600)],  # Q = 1630
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1690, E.CYCLE_ENDING, S.ENDING),
            ev(3130, E.CYCLE_FINISHED, S.FINISHED, 1630),
        ],
    ),
    case(
        "heating at 10 A is above the spin band (1.8-7 A): no signature",
        WASHER,
        [steady(1.0, 1200) + steady(10.0, 120) + steady(0.02, 1600)],  # Q = 1320
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1380, E.CYCLE_ENDING, S.ENDING),
            ev(2820, E.CYCLE_FINISHED, S.FINISHED, 1320),
        ],
    ),
    case(
        "washer off after a slow 0.4 A tumble: ending after 60 s, finished only after 1500 s",
        WASHER,
        [steady(0.4, 1200) + steady(0.02, 1600)],  # Q = 1200
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1260, E.CYCLE_ENDING, S.ENDING),
            ev(2700, E.CYCLE_FINISHED, S.FINISHED, 1200),
        ],
    ),
    case(
        "a 17-minute soak after a slow tumble, then tumbling again: ending, resumed at once, no finish",
        WASHER,
        [steady(0.4, 1200) + steady(0.02, 1020) + tumble(0.5, 600)],  # the tumble from 2220
        [ev(10, E.CYCLE_STARTED, S.RUNNING), ev(1260, E.CYCLE_ENDING, S.ENDING), ev(2222, E.CYCLE_RESUMED, S.RUNNING)],
        after={"state": S.RUNNING, "cycles": 0},
    ),
    case(
        "a spin then off that turns out a pause resumes, and the profile counts a signature pause",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 40) + steady(1.0, 60)],  # Q = 1260, draw again at 1300
        [ev(10, E.CYCLE_STARTED, S.RUNNING), ev(1275, E.CYCLE_ENDING, S.ENDING), ev(1302, E.CYCLE_RESUMED, S.RUNNING)],
        after={"signature_pauses": 1, "revision": 1},
    ),
]

EARLY_PAUSES = [
    case(
        "washer pre-soak: quiet 6 minutes in (before min_cycle_s) is paused, resumed when it draws again",
        WASHER,
        [steady(1.0, 360) + steady(0.02, 1020) + steady(1.0, 300)],
        [ev(10, E.CYCLE_STARTED, S.RUNNING), ev(420, E.CYCLE_PAUSED, S.PAUSED), ev(1382, E.CYCLE_RESUMED, S.RUNNING)],
    ),
    case(
        "quiet before min_cycle_s is a pause even after a final spin: finished only after 1500 s",
        WASHER,
        [steady(1.0, 300) + steady(3.0, 60) + steady(0.02, 1600)],  # Q = 360
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(420, E.CYCLE_PAUSED, S.PAUSED),
            ev(1860, E.CYCLE_FINISHED, S.FINISHED, 360),
        ],
    ),
    case(
        "a dryer dropping to off 5 minutes in is paused, finished only after 1080 s",
        DRYER,
        [steady(3.5, 300) + steady(0.02, 1200)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(360, E.CYCLE_PAUSED, S.PAUSED),
            ev(1380, E.CYCLE_FINISHED, S.FINISHED, 300),
        ],
    ),
    case(
        "a dryer quiet after exactly min_cycle_s (600 s) of running may be its end",
        DRYER,
        [steady(3.5, 600) + steady(0.02, 60)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(615, E.CYCLE_ENDING, S.ENDING),
            ev(640, E.CYCLE_FINISHED, S.FINISHED, 600),
        ],
    ),
]

DRYER_ENDS = [
    case(
        "dryer drop straight to off: ending at 15 s, finished at 40 s",
        DRYER,
        [steady(3.5, 2400) + steady(0.02, 120)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(2415, E.CYCLE_ENDING, S.ENDING),
            ev(2440, E.CYCLE_FINISHED, S.FINISHED, 2400),
        ],
        after={"cycles": 1, "last_cycle": (2400, 0.0, False, True)},
    ),
    case(
        "dryer dip to 0.1 A (above its learned 0.03 A standby) for 13 min, then heat: ending, resumed after 90 s",
        DRYER,
        [steady(0.03, 120) + steady(3.5, 1200) + steady(0.1, 780) + steady(3.5, 600)],  # Q = 1320, heat from 2100
        [ev(210, E.CYCLE_STARTED, S.RUNNING), ev(1380, E.CYCLE_ENDING, S.ENDING), ev(2190, E.CYCLE_RESUMED, S.RUNNING)],
        after={"standby": pytest.approx(0.03), "cycles": 0, "state": S.RUNNING},
    ),
    case(
        "dryer's low tail past the 1080 s pause limit: finished at 1080 s of quiet",
        DRYER,
        [steady(0.03, 120) + steady(3.5, 2400) + steady(0.1, 1200)],  # Q = 2520
        [
            ev(210, E.CYCLE_STARTED, S.RUNNING),
            ev(2580, E.CYCLE_ENDING, S.ENDING),
            ev(3600, E.CYCLE_FINISHED, S.FINISHED, 2400),
        ],
        after={"last_cycle": (2400, 0.0, True, False)},
    ),
    case(
        "anti-wrinkle pulses (20-60 s at 0.65-1.75 A) in ending neither resume it nor restart the quiet count",
        DRYER,
        [
            steady(0.03, 120)
            + steady(3.5, 2400)  # Q = 2520; pulses at Q+240, Q+560, Q+920
            + pulses(0.1, (240, 20, 0.65), (300, 60, 1.75), (300, 45, 1.2))
            + steady(0.1, 300)
        ],
        [
            ev(210, E.CYCLE_STARTED, S.RUNNING),
            ev(2580, E.CYCLE_ENDING, S.ENDING),
            ev(3600, E.CYCLE_FINISHED, S.FINISHED, 2400),
        ],
    ),
    case(
        "running, a pulse before the quiet shows restarts the quiet count (only paused or ending ignores pulses)",
        DRYER,
        [steady(10.0, 3600) + steady(0.1, 30) + steady(1.1, 15) + steady(0.1, 1200)],  # Q = 3645 after the pulse
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(3705, E.CYCLE_ENDING, S.ENDING),
            ev(4725, E.CYCLE_FINISHED, S.FINISHED, 3645),
        ],
    ),
    case(
        "a pulse in progress when the end is due holds the finish back until the drum stops",
        DRYER,
        [steady(3.5, 2400) + steady(0.02, 20) + steady(1.0, 30) + steady(0.02, 60)],  # pulse 2420-2449
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(2415, E.CYCLE_ENDING, S.ENDING),
            ev(2456, E.CYCLE_FINISHED, S.FINISHED, 2400),  # the pulse ends a tumble rest (7 s) after its last turn
        ],
    ),
]

AFTER_FINISHED = [
    case(
        "after a finished dryer, anti-wrinkle pulses (up to 60 s every 2-11 min) for an hour start nothing",
        DRYER,
        [
            steady(3.5, 2400)
            + steady(0.02, 60)
            + pulses(0.02, (120, 60, 1.75), (660, 20, 0.65), (300, 60, 1.2), (130, 40, 1.0), (600, 60, 1.75))
            + pulses(0.02, (400, 30, 0.9), (500, 60, 1.5))
            + steady(0.02, 600)
        ],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(2415, E.CYCLE_ENDING, S.ENDING),
            ev(2440, E.CYCLE_FINISHED, S.FINISHED, 2400),
        ],
    ),
    case(
        "after a finished washer, 60 s of activity starts nothing (restart dwell 90 s)",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 120) + steady(1.0, 60) + steady(0.02, 120)],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1275, E.CYCLE_ENDING, S.ENDING),
            ev(1320, E.CYCLE_FINISHED, S.FINISHED, 1260),
        ],
    ),
    case(
        "dryer activity for 180 s within an hour of the finish continues the cycle; the profile forgets it",
        DRYER,
        [steady(3.5, 2400) + steady(0.02, 600) + steady(3.5, 300)],  # heat again from 3000
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(2415, E.CYCLE_ENDING, S.ENDING),
            ev(2430, E.CYCLE_FINISHED, S.FINISHED, 2400),  # warm, near its usual end: 30 s
            ev(3180, E.CYCLE_CONTINUED, S.RUNNING, 3180, "current_after_finished"),
        ],
        learned=profile(2400, 2400),
        after={"started_at": 0.0, "cycles": 2, "learned": 3, "state": S.RUNNING},
    ),
    case(
        "a continued cycle's finish covers the whole cycle, and its pause is the one it was finished in",
        DRYER,
        [steady(3.5, 2400) + steady(0.02, 600) + steady(3.5, 300) + steady(0.02, 60)],  # Q = 3300
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(2415, E.CYCLE_ENDING, S.ENDING),
            ev(2440, E.CYCLE_FINISHED, S.FINISHED, 2400),
            ev(3180, E.CYCLE_CONTINUED, S.RUNNING, 3180, "current_after_finished"),
            ev(3315, E.CYCLE_ENDING, S.ENDING),
            ev(3340, E.CYCLE_FINISHED, S.FINISHED, 3300),
        ],
        after={"cycles": 1, "learned": 2, "last_cycle": (3300, 600.0, False, True)},
    ),
    case(
        "washer activity for 90 s within an hour of the finish continues the cycle",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 600) + steady(1.0, 120)],  # draw again from 1860
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1275, E.CYCLE_ENDING, S.ENDING),
            ev(1320, E.CYCLE_FINISHED, S.FINISHED, 1260),
            ev(1950, E.CYCLE_CONTINUED, S.RUNNING, 1950, "current_after_finished"),
        ],
        after={"started_at": 0.0, "cycles": 0},
    ),
    case(
        "dryer activity more than an hour after the finish is a new cycle (restarted_door_closed)",
        DRYER,
        [steady(3.5, 2400) + steady(0.02, 3700) + steady(3.5, 200)],  # heat again from 6100
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(2415, E.CYCLE_ENDING, S.ENDING),
            ev(2440, E.CYCLE_FINISHED, S.FINISHED, 2400),
            ev(6280, E.CYCLE_STARTED, S.RUNNING, None, "restarted_door_closed"),
        ],
        after={"started_at": 6100.0, "cycles": 1},
    ),
]

DOORS = [
    case(
        "door opened while the drum turns interrupts the cycle",
        WASHER,
        [steady(2.0, 600), door("open"), steady(0.0, 100), door("closed")],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(600, E.CYCLE_INTERRUPTED, S.DOOR_OPEN, 600, "door_opened"),
            ev(700, E.DOOR_CLOSED, S.IDLE),
        ],
        after={"cycles": 0, "started_at": None},
    ),
    case(
        "door opened seconds after the drum stopped (running, quiet): finished, not interrupted",
        DRYER,
        [steady(3.5, 1200) + steady(0.1, 20), door("open")],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(1220, E.CYCLE_FINISHED, S.FINISHED, 1200, "door_opened"),
            ev(1220, E.DOOR_OPENED, S.DOOR_OPEN),
        ],
    ),
    case(
        "door opened while paused ends the cycle as finished (a washer's door is locked while it runs)",
        WASHER,
        [steady(1.0, 300) + steady(0.02, 120), door("open")],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(360, E.CYCLE_PAUSED, S.PAUSED),
            ev(420, E.CYCLE_FINISHED, S.FINISHED, 300, "door_opened"),
            ev(420, E.DOOR_OPENED, S.DOOR_OPEN),
        ],
    ),
    case(
        "door opened while ending ends the cycle as finished",
        DRYER,
        [steady(3.5, 1200) + steady(0.1, 120), door("open")],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(1260, E.CYCLE_ENDING, S.ENDING),
            ev(1320, E.CYCLE_FINISHED, S.FINISHED, 1200, "door_opened"),
            ev(1320, E.DOOR_OPENED, S.DOOR_OPEN),
        ],
    ),
    case(
        "no cycle starts with the door open; closing it after 30 s of activity starts the cycle at once",
        WASHER,
        [door("open"), steady(2.0, 30), door("closed"), steady(2.0, 10)],
        [ev(0, E.DOOR_OPENED, S.DOOR_OPEN), ev(30, E.DOOR_CLOSED, S.IDLE), ev(30, E.CYCLE_STARTED, S.RUNNING)],
        after={"started_at": 0.0},
    ),
    case(
        "closing the door before start_dwell_s of activity: the cycle starts when the activity reaches it",
        WASHER,
        [door("open"), steady(2.0, 5), door("closed"), steady(2.0, 20)],
        [ev(0, E.DOOR_OPENED, S.DOOR_OPEN), ev(5, E.DOOR_CLOSED, S.IDLE), ev(10, E.CYCLE_STARTED, S.RUNNING)],
    ),
    case(
        "door open and close while idle; a repeated close is no event",
        DRYER,
        [steady(0.02, 5), door("open"), steady(0.02, 25), door("closed"), door("closed")],
        [ev(5, E.DOOR_OPENED, S.DOOR_OPEN), ev(30, E.DOOR_CLOSED, S.IDLE)],
    ),
    case(
        "finished, unloaded, next cycle",
        WASHER,
        [
            steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 140),
            door("open"),  # at 1400
            steady(0.02, 60),
            door("closed"),  # at 1460
            steady(2.0, 100),
        ],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1275, E.CYCLE_ENDING, S.ENDING),
            ev(1320, E.CYCLE_FINISHED, S.FINISHED, 1260),
            ev(1400, E.DOOR_OPENED, S.DOOR_OPEN),
            ev(1460, E.DOOR_CLOSED, S.IDLE),
            ev(1470, E.CYCLE_STARTED, S.RUNNING),
        ],
        after={"started_at": 1460.0, "cycles": 1},
    ),
]

TICKS = [
    case(
        "ticks confirm the pause-limit end without new samples",
        WASHER,
        [steady(0.4, 1200) + steady(0.02, 20), tick(1259), tick(1260), tick(2699), tick(2700)],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1260, E.CYCLE_ENDING, S.ENDING),
            ev(2700, E.CYCLE_FINISHED, S.FINISHED, 1200),
        ],
    ),
    case(
        "ticks confirm a signature end once the quiet level was seen",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 20), tick(1319), tick(1320)],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1275, E.CYCLE_ENDING, S.ENDING),
            ev(1320, E.CYCLE_FINISHED, S.FINISHED, 1260),
        ],
    ),
]

WARM = [
    case(
        "warm washer near its usual end, spin then off like its past ends: finished after 30 s",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 60)],  # Q = 1260, 95 % of 1320
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1275, E.CYCLE_ENDING, S.ENDING),
            ev(1290, E.CYCLE_FINISHED, S.FINISHED, 1260),
        ],
        learned=profile(1320, 1320),
        after={"cycles": 3, "revision": 1},
    ),
    case(
        "warm washer well before its usual end: a spin then off is still trusted, finished after 60 s",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 120)],  # Q = 1260, 35 % of 3600
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1275, E.CYCLE_ENDING, S.ENDING),
            ev(1320, E.CYCLE_FINISHED, S.FINISHED, 1260),
        ],
        learned=profile(3600, 3600),
    ),
    case(
        "a washer whose signature misled it before pauses on spin-then-off well before its usual end",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 300) + steady(1.0, 60)],  # Q = 1260, draw at 1560
        [ev(10, E.CYCLE_STARTED, S.RUNNING), ev(1320, E.CYCLE_PAUSED, S.PAUSED), ev(1562, E.CYCLE_RESUMED, S.RUNNING)],
        learned=profile(3600, 3600, signature_pauses=1),
    ),
    case(
        "a washer whose signature misled it before trusts it again near its usual end: finished after 30 s",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 60)],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1275, E.CYCLE_ENDING, S.ENDING),
            ev(1290, E.CYCLE_FINISHED, S.FINISHED, 1260),
        ],
        learned=profile(1320, 1320, signature_pauses=1),
    ),
    case(
        "warm washer: off after a slow tumble well before its shortest usual cycle (< 75 %) is paused, not ending",
        WASHER,
        [steady(0.4, 1200) + steady(0.02, 1600)],  # Q = 1200, 33 % of 3600
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1260, E.CYCLE_PAUSED, S.PAUSED),
            ev(2700, E.CYCLE_FINISHED, S.FINISHED, 1200),
        ],
        learned=profile(3600, 4000),
    ),
    case(
        "a warm washer whose ends never spin: off near its usual end finishes after end_dwell_s (60 s)",
        WASHER,
        [steady(0.4, 1260) + steady(0.02, 120)],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1275, E.CYCLE_ENDING, S.ENDING),
            ev(1320, E.CYCLE_FINISHED, S.FINISHED, 1260),
        ],
        learned=profile(1260, 1260, signature=False),
    ),
    case(
        "a learned pause limit (longest pause 30 min: 1.3 x 1800 + 60 s) lengthens the wait of an end without evidence",
        WASHER,
        [steady(0.4, 1200) + steady(0.02, 2500)],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1260, E.CYCLE_ENDING, S.ENDING),
            ev(3600, E.CYCLE_FINISHED, S.FINISHED, 1200),
        ],
        learned=profile(3600, longest_pause_s=1800),
    ),
    case(
        "warm dryer whose ends stay low at 0.12 A: the same low tail near its usual end finishes after 40 s",
        DRYER,
        [steady(3.5, 2400) + steady(0.12, 120)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(2415, E.CYCLE_ENDING, S.ENDING),
            ev(2440, E.CYCLE_FINISHED, S.FINISHED, 2400),
        ],
        learned=profile(2400, 2400, tail_a=0.12, tail_low=True, signature=False),
    ),
    case(
        "the same low tail at 80 % of its usual length waits the 1080 s pause limit, shown as ending",
        DRYER,
        [steady(3.5, 1920) + steady(0.12, 1200)],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(1980, E.CYCLE_ENDING, S.ENDING),
            ev(3000, E.CYCLE_FINISHED, S.FINISHED, 1920),
        ],
        learned=profile(2400, 2400, tail_a=0.12, tail_low=True, signature=False),
    ),
    case(
        "a warm dryer's dip well before its usual end is paused, then resumed after 90 s of heat",
        DRYER,
        [steady(3.5, 1200) + steady(0.12, 600) + steady(3.5, 300)],  # heat again from 1800
        [ev(90, E.CYCLE_STARTED, S.RUNNING), ev(1260, E.CYCLE_PAUSED, S.PAUSED), ev(1890, E.CYCLE_RESUMED, S.RUNNING)],
        learned=profile(2400, 2400, tail_a=0.12, tail_low=True, signature=False),
    ),
    case(
        "a cycle cancelled after 5 minutes and unloaded does not teach the dryer a 5-minute usual length",
        DRYER,
        [
            steady(3.5, 300) + steady(0.12, 60),
            door("open"),  # at 360: finished by the door
            steady(0.03, 30),
            door("closed"),
            steady(0.03, 30) + steady(3.5, 1200) + steady(0.1, 300) + steady(3.5, 600),  # dip at 1620, heat at 1920
        ],
        [
            ev(90, E.CYCLE_STARTED, S.RUNNING),
            ev(360, E.CYCLE_FINISHED, S.FINISHED, 300, "door_opened"),
            ev(360, E.DOOR_OPENED, S.DOOR_OPEN),
            ev(390, E.DOOR_CLOSED, S.IDLE),
            ev(510, E.CYCLE_STARTED, S.RUNNING),
            ev(1680, E.CYCLE_PAUSED, S.PAUSED),  # 33 % into a 60-minute cycle
            ev(2010, E.CYCLE_RESUMED, S.RUNNING),
        ],
        learned=profile(3600, 3600, tail_a=0.12, tail_low=True, signature=False),
    ),
    case(
        "expected_end is the start plus the median of the learned lengths",
        WASHER,
        [steady(0.02, 30) + steady(1.0, 60)],
        [ev(40, E.CYCLE_STARTED, S.RUNNING)],
        learned=profile(3000, 3600, 4200),
        after={"started_at": 30.0, "expected_end": 3630.0},
    ),
    case(
        "a cold detector has no expected_end",
        WASHER,
        [steady(1.0, 60)],
        [ev(10, E.CYCLE_STARTED, S.RUNNING)],
        after={"expected_end": None},
    ),
]

LEARNING = [
    case(
        "standby is learned while idle from quiet minutes",
        WASHER,
        [steady(0.04, 180)],
        [],
        after={"standby": pytest.approx(0.04), "revision": 1},
    ),
    case(
        "standby is learned with the door open too",
        DRYER,
        [door("open"), steady(0.045, 60)],
        [ev(0, E.DOOR_OPENED, S.DOOR_OPEN)],
        after={"standby": pytest.approx(0.045), "revision": 1},
    ),
    case(
        "a quiet minute above 0.1 A (a lamp, a fan) is never learned as standby",
        WASHER,
        [steady(0.11, 180)],
        [],
        after={"standby": None, "revision": 0},
    ),
    case(
        "learned_revision grows by one when a cycle is learned",
        WASHER,
        [steady(1.0, 1200) + steady(3.0, 60) + steady(0.02, 70)],
        [
            ev(10, E.CYCLE_STARTED, S.RUNNING),
            ev(1275, E.CYCLE_ENDING, S.ENDING),
            ev(1320, E.CYCLE_FINISHED, S.FINISHED, 1260),
        ],
        after={"revision": 1, "cycles": 1, "learned": 1, "last_cycle": (1260, 0.0, False, True)},
    ),
]

CASES = (
    STARTS + QUIET_LEVELS + WASHER_ENDS + EARLY_PAUSES + DRYER_ENDS + AFTER_FINISHED + DOORS + TICKS + WARM + LEARNING
)


@pytest.mark.parametrize(("kind", "script", "expected", "learned", "after"), CASES)
def test_scenarios(
    kind: MachineKind, script: list[Step], expected: list[Observed], learned: Learned | None, after: dict[str, object]
) -> None:
    detector = CycleDetector(kind, DEFAULT_THRESHOLDS[kind], now=0.0, learned=learned)
    got = Player(detector).play(*script)
    assert observed(got) == expected
    seen = observe(detector)
    assert {key: seen[key] for key in after} == after


def test_expected_end_adds_the_claims_extra_minutes() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0, learned=profile(3000, 3600, 4200))
    assert detector.expected_end is None  # idle
    Player(detector).play(steady(1.0, 60))
    assert detector.expected_end == 3600.0
    detector.set_prior(None, 10)
    assert detector.expected_end == 3600.0 + 600
    detector.set_prior(None, -5)  # never less than the profile says
    assert detector.expected_end == 3600.0


def test_adopt_takes_a_profile_only_if_it_learned_more() -> None:
    detector = CycleDetector(DRYER, DRYER_THRESHOLDS, now=0.0, learned=profile(2400, 2400))
    assert detector.adopt(profile(2400)) is False
    assert detector.adopt(profile(2400, 2400)) is False  # as much is not more
    assert detector.learned_revision == 0 and len(detector.learned.cycles) == 2
    richer = profile(2400, 2500, 2600)
    assert detector.adopt(richer) is True
    assert detector.learned is richer and detector.learned_revision == 1
    # With nothing learned on either side, a known standby is more than none.
    fresh = CycleDetector(DRYER, DRYER_THRESHOLDS, now=0.0)
    assert fresh.adopt(Learned(standby=0.02)) is True and fresh.learned.standby == 0.02
    assert fresh.adopt(Learned(standby=0.05)) is False and fresh.learned.standby == 0.02


def test_events_carry_the_current_door_and_reason_of_their_moment() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    player = Player(detector)
    player.play(steady(2.0, 1800) + steady(0.0, 120))
    player.play(steady(0.0, 3600) + steady(3.0, 100))  # more than an hour after the end: a new cycle
    interrupted = player.play(door("open"))
    assert observed(interrupted) == [ev(5620, E.CYCLE_INTERRUPTED, S.DOOR_OPEN, 100, "door_opened")]
    assert interrupted[0].current == 3.0 and interrupted[0].door is Door.OPEN


def test_snapshot_restores_an_ending_cycle_and_its_quiet_count_starts_afresh() -> None:
    detector = CycleDetector(DRYER, DRYER_THRESHOLDS, now=0.0)
    Player(detector).play(steady(3.5, 1200) + steady(0.1, 100))  # ending at 1260
    snap = detector.snapshot
    assert (snap.state, snap.cycle_state, snap.cycle_since, snap.cycle_started_at) == (S.ENDING, S.ENDING, 1260, 0)
    restored = CycleDetector(DRYER, DRYER_THRESHOLDS, now=1400.0, restore=snap)
    assert restored.snapshot == snap
    assert restored.state is S.ENDING and restored.cycle_started_at == 0.0
    # What happened while the agent was down is unknown: the quiet count restarts at the restore.
    got = Player(restored, now=1400.0).play(steady(0.1, 1200))
    assert observed(got) == [ev(2480, E.CYCLE_FINISHED, S.FINISHED, 1400)]


def test_snapshot_restores_a_running_cycle_that_then_ends_by_the_rules() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=0.0)
    Player(detector).play(steady(1.0, 900))
    snap = detector.snapshot
    restored = CycleDetector(WASHER, WASHER_THRESHOLDS, now=1000.0, restore=snap)
    assert restored.snapshot == snap and restored.state is S.RUNNING
    got = Player(restored, now=1000.0).play(steady(1.0, 100) + steady(3.0, 60) + steady(0.02, 120))  # Q = 1160
    assert observed(got) == [ev(1175, E.CYCLE_ENDING, S.ENDING), ev(1220, E.CYCLE_FINISHED, S.FINISHED, 1160)]


def test_time_never_runs_backwards() -> None:
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=100.0)
    assert detector.on_current(200.0, 3.0) == []
    assert detector.on_current(150.0, 3.0) == []  # an older sample from another thread counts as "now"
    assert detector.on_current(205.0, 3.0) == []
    started = detector.on_current(210.0, 3.0)
    assert [(t.type, t.at) for t in started] == [(E.CYCLE_STARTED, 210.0)]
    assert detector.on_door(190.0, Door.OPEN)[0].at == 210.0


def test_bouncing_door_through_the_switch(mock_factory: MockFactory) -> None:
    """Contact bounce on the real pin path yields exactly one door_opened and one door_closed."""
    clock = FakeClock()
    edges: queue.Queue[Any] = queue.Queue()
    pin = mock_factory.pin(5)
    switch = DoorSwitch(
        "washer-1", 5, edges=edges, clock=clock, debounce_s=0.03, pin_factory=mock_factory, monotonic=clock.now
    )
    pin.drive_low()
    detector = CycleDetector(WASHER, WASHER_THRESHOLDS, now=clock.now(), door=switch.resync())
    got: list[Transition] = []

    def pump() -> None:
        while not edges.empty():
            edge = edges.get_nowait()
            if (moved := switch.on_edge(edge)) is not None:
                got.extend(detector.on_door(edge.ts, moved))
        if (moved := switch.tick(clock.now())) is not None:
            got.extend(detector.on_door(clock.now(), moved))

    for levels in (["high", "low", "high", "low", "high"], ["low", "high", "low", "high", "low"]):
        for level in levels:
            getattr(pin, f"drive_{level}")()
            clock.advance(0.002)
            pump()
        clock.advance(1.0)
        pump()
    switch.close()
    assert [(t.type, t.state) for t in got] == [(E.DOOR_OPENED, S.DOOR_OPEN), (E.DOOR_CLOSED, S.IDLE)]
