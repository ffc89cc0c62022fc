"""The detector on every program of the simulator's library and on its fault scenarios."""

from __future__ import annotations

import pytest

from firmware_sim.machines import MACHINE_KINDS
from firmware_sim.scenarios import SCENARIOS
from tests.bench.detection import run_program, run_scenario

PROGRAMS = [(kind, program) for kind, cls in MACHINE_KINDS.items() for program in cls.programs]


@pytest.mark.parametrize(("kind", "program"), PROGRAMS)
def test_each_program_is_seen_once_and_its_end_within_a_minute(kind: str, program: str) -> None:
    result = run_program(kind, program, seed=11, cycles=2, period=1.0)
    assert (result.cycles, result.missed, result.false_finished, result.false_starts) == (2, 0, 0, 0)
    assert len(result.delays) == 2 and all(0 < d <= 60 for d in result.delays)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_fault_scenario_is_reported(name: str) -> None:
    scenario = SCENARIOS[name](5)
    seen, delay, finished = run_scenario(scenario, period=1.0)
    assert seen, f"{scenario.expect} not reported"
    assert delay is not None and delay >= 0
    assert finished == 0, "a fault is never taken for the end of a cycle"
