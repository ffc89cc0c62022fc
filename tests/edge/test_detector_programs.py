"""The detector on every program of the simulator's library, cold and warm, and on its fault scenarios."""

from __future__ import annotations

import pytest

from firmware_sim.machines import MACHINE_KINDS
from firmware_sim.scenarios import SCENARIOS
from tests.bench.detection import run_machine, run_scenario

PROGRAMS = [(kind, program) for kind, cls in MACHINE_KINDS.items() for program in cls.programs]


COLD_LIMIT_S = 20 * 60.0
"""A cold machine may wait out its kind's pause limit when its end shows no signature."""


@pytest.mark.parametrize(("kind", "program"), PROGRAMS)
def test_each_program_is_seen_once_never_done_early_and_fast_once_warm(kind: str, program: str) -> None:
    scores, false_starts, _ = run_machine(kind, program, seed=11, cycles=5, period=1.0)
    assert false_starts == 0
    assert [(s.missed, s.false_finished) for s in scores] == [(False, 0)] * 5
    assert all(s.start_delay is not None and s.start_delay <= 120 for s in scores)
    cold, warm = scores[0], scores[3:]
    assert cold.delay is not None and 0 < cold.delay <= COLD_LIMIT_S
    assert all(s.delay is not None and 0 < s.delay <= 60 for s in warm), [s.delay for s in warm]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_fault_scenario_is_reported(name: str) -> None:
    scenario = SCENARIOS[name](5)
    seen, delay, finished = run_scenario(scenario, period=1.0)
    assert seen, f"{scenario.expect} not reported"
    assert delay is not None and delay >= 0
    assert finished == 0, "a fault is never taken for the end of a cycle"
