"""Students, run as a discrete-event simulation over a whole room (no threads, no pins)."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from firmware_sim.room import GroundTruth, RoomSimulator, demo_machines
from firmware_sim.students import Students
from kywash.clock import FakeClock

T0 = 1_767_225_600.0  # midnight UTC
DAY = 86_400.0


@pytest.fixture
def room(mock_factory: MockFactory) -> Iterator[RoomSimulator]:
    """A room that is never started: its doors move in the model only, no pins are driven."""
    with RoomSimulator(demo_machines(), FakeClock(T0), mock_factory, students=False) as r:
        yield r


def simulate(room: RoomSimulator, seed: int, days: float = 1.0, rate: float = 10.0) -> list[GroundTruth]:
    students = Students(room, start=T0, seed=seed, rate_per_hour=rate)
    end = T0 + days * DAY
    students.run_until(end)
    for kind in ("washer", "dryer"):
        for machine in room.machines_of(kind):
            room.state_at(machine, end)
    return sorted(room.ground_truth, key=lambda g: g.ts)


def by_machine(truth: list[GroundTruth]) -> dict[str, list[GroundTruth]]:
    out: dict[str, list[GroundTruth]] = defaultdict(list)
    for g in truth:
        out[g.machine].append(g)
    return out


def test_a_day_of_students_is_physically_consistent(room: RoomSimulator) -> None:
    truth = simulate(room, seed=1)
    counts = Counter(g.what for g in truth)
    assert counts["cycle_started"] >= 60
    assert counts["cycle_finished"] >= 50
    assert counts["door_opened"] - counts["door_closed"] in range(0, 13)
    for machine, events in by_machine(truth).items():
        door_open, running = False, False
        for g in events:
            if g.what in ("door_opened", "door_closed"):
                assert door_open is (g.what == "door_closed"), f"{machine}: doors alternate"
                door_open = g.what == "door_opened"
                assert not (running and door_open and machine.startswith("washer")), "washer door is locked"
            elif g.what == "cycle_started":
                assert not door_open and not running
                running = True
            else:
                assert running
                running = False


def test_students_are_late_and_sometimes_very_late(room: RoomSimulator) -> None:
    truth = simulate(room, seed=2, days=2)
    waits = []
    for events in by_machine(truth).values():
        for g, nxt in itertools.pairwise(events):
            if g.what == "cycle_finished" and nxt.what == "door_opened":
                waits.append(nxt.ts - g.ts)
    assert len(waits) > 50
    assert 60 <= statistics.median(waits) <= 30 * 60
    assert max(waits) > 60 * 60, "someone forgot their laundry for over an hour"


def test_some_students_check_a_running_dryer_which_stops_it(room: RoomSimulator) -> None:
    truth = simulate(room, seed=3, days=2)
    interrupted = [g for g in truth if g.what == "cycle_interrupted"]
    assert interrupted and all(g.machine.startswith("dryer") for g in interrupted)


def test_evenings_are_busier_than_nights(room: RoomSimulator) -> None:
    truth = simulate(room, seed=4, days=3, rate=8)
    hours = Counter(int((g.ts % DAY) // 3600) for g in truth if g.what == "cycle_started")
    evening = sum(hours[h] for h in range(17, 23))
    night = sum(hours[h] for h in range(0, 6))
    assert evening > 4 * night


@pytest.mark.parametrize("seed", [5, 6])
def test_same_seed_same_day(mock_factory: MockFactory, seed: int) -> None:
    runs = []
    for _ in range(2):
        with RoomSimulator(demo_machines(), FakeClock(T0), mock_factory, students=False) as r:
            runs.append(simulate(r, seed=seed, days=0.5))
    assert runs[0] == runs[1] and runs[0]
    with RoomSimulator(demo_machines(), FakeClock(T0), mock_factory, students=False) as r:
        assert simulate(r, seed=seed + 100, days=0.5) != runs[0]


def test_no_students_when_the_rate_is_zero(room: RoomSimulator) -> None:
    students = Students(room, start=T0, rate_per_hour=0)
    assert students.run_until(T0 + DAY) == 0
    assert room.ground_truth == []
