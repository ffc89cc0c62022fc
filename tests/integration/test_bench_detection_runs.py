"""``tests/bench/detection.py`` keeps working (a tiny run; the figures themselves are never asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_detection_benchmark_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/bench/detection.py"), "--seeds", "1", "--cycles", "1",
         "--programs", "washer/quick,dryer/low"],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("detection bench: 1 seed(s) x 1 cycle(s) per program")
    assert " ".join(lines[1].split()) == "program cycles missed false fin false start delay med worst"
    rows = [line for line in lines if line.startswith(("washer/", "dryer/"))]
    assert [r.split()[0] for r in rows] == ["washer/quick", "dryer/low"]
    for row in rows:
        assert re.fullmatch(r"\S+ +1 +\d+ +\d+ +\d+ +(\d+ s|-) +(\d+ s|-)", row), row
    scenarios = {line.split()[0] for line in lines[4:-1]}
    assert {"current_with_door_open", "cycle_never_ends", "sensor_goes_silent"} <= scenarios
    assert re.fullmatch(
        r"summary: 2 cycles, \d+ missed, \d+ false finished, \d+ false starts; finished delay median \S+ s?, "
        r"worst \S+ s?; fault scenarios \d+/3 detected; goal \(none false or missed, median <= 60 s\) "
        r"(met|NOT met) \[\d+\.\d s\]",
        lines[-1],
    ), lines[-1]
