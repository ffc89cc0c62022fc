"""``tests/bench/api.py`` keeps working (a tiny run; the figures themselves are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.bench.api import parse_wrk

ROOT = Path(__file__).resolve().parents[2]

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8000/api/v1/machines/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    25.01ms    3.10ms  40.00ms   90.00%
    Req/Sec     2.00k   100.00     2.20k    80.00%
  10012 requests in 5.01s, 47.30MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   1998.40
Transfer/sec:      9.44MB
"""


def test_api_benchmark_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/bench/api.py"), "--runs", "1", "--seconds", "0.5", "--warmup", "0",
         "--concurrency", "4", "--loadgen", "python"],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "load generator: tests/bench/http_load.py" in out
    assert "6 washers + 6 dryers" in out
    assert "  1 bare " in out
    assert "  1 kywash " in out
    assert "median of 1: bare " in out
    assert "ratio kywash/bare" in out


def test_wrk_summary_is_parsed() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert (result.requests, result.elapsed, result.errors, result.non_200) == (10012, 5.01, 5, 7)
    assert parse_wrk(WRK_OUTPUT.replace("5.01s", "1.00m")).elapsed == 60.0
