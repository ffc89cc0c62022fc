"""The benchmark scripts keep working (a tiny run; the figures themselves are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_e2e_latency_benchmark_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/bench/e2e_latency.py"), "--transitions", "6", "--runs", "1",
         "--broker", "amqtt"],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "amqtt        1 bare" in result.stdout
    assert "amqtt        1 kywash" in result.stdout
    assert "median of 1" in result.stdout
