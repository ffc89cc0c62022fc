"""``tests/bench/detection.py`` keeps working (a tiny run; the figures themselves are never asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW = r"\S+ (cold|warm) +\d+ +\d+ +\d+ +\d+ +(\d+ s|-) +(\d+ s|-) +(\d+ s|-)"


def test_detection_benchmark_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/bench/detection.py"), "--seeds", "1", "--warmup", "1", "--warm", "1",
         "--programs", "washer/quick,dryer/low"],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("detection bench: 1 seed(s) per program, cold = 1st cycle, warm = cycles 2-2")
    assert " ".join(lines[1].split()) == "program cycles missed false fin false start delay med worst start worst"
    rows = [line for line in lines if line.startswith(("washer/", "dryer/"))]
    assert [" ".join(r.split()[:2]) for r in rows] == [
        "washer/quick cold", "washer/quick warm", "dryer/low cold", "dryer/low warm",
    ]  # fmt: skip
    for row in rows:
        assert re.fullmatch(ROW, row), row
    scenarios = {line.split()[0] for line in lines if line.split()[0] in ("current_with_door_open",
                 "cycle_never_ends", "sensor_goes_silent")}  # fmt: skip
    assert scenarios == {"current_with_door_open", "cycle_never_ends", "sensor_goes_silent"}
    for label in ("cold", "warm"):
        assert any(
            re.fullmatch(
                rf"summary {label}: 2 cycles, \d+ missed, \d+ false finished, \d+ false starts; finished delay "
                r"median \S+( s)?, worst \S+( s)?; start delay worst \S+( s)?",
                line,
            )
            for line in lines
        ), lines[-3:]
    assert re.fullmatch(
        r"summary: fault scenarios \d+/3 detected; goals \(.*\) (met|NOT met: .*) \[\d+\.\d s\]", lines[-1]
    ), lines[-1]
