"""``kywash cloud --workers N``: N uvicorn processes on one port whose Prometheus figures are
merged, so a scrape answered by any worker counts every worker's requests; and the worker
numbers that give each worker its own persistent MQTT session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cloud.runtime import server
from launchers.broker import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_worker_numbers_are_the_lowest_free_and_one_per_living_worker(tmp_path: Path) -> None:
    held_before = len(server._held_slots)
    try:
        assert server.claim_worker_slot(tmp_path, 2) == 1
        assert server.claim_worker_slot(tmp_path, 2) == 2  # a second open file: as another process would
        with pytest.raises(RuntimeError, match="taken"):
            server.claim_worker_slot(tmp_path, 2)
        os.close(server._held_slots.pop(held_before))  # worker 1 dies...
        assert server.claim_worker_slot(tmp_path, 2) == 1  # ...and its replacement is worker 1 again
    finally:
        while len(server._held_slots) > held_before:
            os.close(server._held_slots.pop())


def test_the_metrics_directory_is_emptied_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(server.METRICS_DIR_ENV, str(tmp_path / "m"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "counter_123.db").write_bytes(b"old run")
    assert server.prepare_metrics_dir() == tmp_path / "m"
    assert list((tmp_path / "m").glob("*.db")) == []


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port, metrics = free_port(), tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_99999.db").write_bytes(b"\0" * 64)  # left by an earlier run
    env = {**os.environ, server.METRICS_DIR_ENV: str(metrics), "KYWASH_WEB_PUSH": "false"}
    command = [sys.executable, "-m", "launchers.cli", "cloud", "--port", str(port), "--workers", "2", "--no-ingest"]
    command += ["--database-url", f"sqlite:///{tmp_path / 'c.db'}", "--log-level", "warning"]
    with (tmp_path / "log").open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "log").read_text()
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "log").read_text()
            time.sleep(0.1)
        yield url, metrics
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def machines_requests(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "kywash_http_request_duration_seconds_count" and sample.labels == {
                "method": "GET",
                "route": "/api/v1/machines/",
                "status": "2xx",
            }:
                return sample.value
    return 0.0


def test_a_scrape_counts_every_workers_requests(workers: tuple[str, Path]) -> None:
    url, metrics = workers
    for _ in range(20):  # a new connection each time, so both workers take some
        assert httpx.get(f"{url}/api/v1/machines/", timeout=5).status_code == 200
    for _ in range(5):  # whichever worker answers, the total is the same
        assert machines_requests(url) == 20
    assert not (metrics / "counter_99999.db").exists()
    assert sorted(path.name for path in metrics.glob("worker-*.lock")) == ["worker-1.lock", "worker-2.lock"]
