"""Serve an app with uvicorn: in the foreground (the CLI), as worker processes
(``kywash cloud --workers N``) or on a background thread (demo, tests).

``serve`` returns a started server the caller can stop; the lifespan (migrations, ingest)
has finished starting by the time it returns, and a startup failure is raised, not hidden.
"""

from __future__ import annotations

import atexit
import fcntl
import gc
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Final

import uvicorn
from fastapi import FastAPI

UVICORN_OPTIONS: dict[str, object] = {
    "lifespan": "on",
    "ws": "websockets-sansio",  # not the legacy websockets protocol, which is deprecated
    "timeout_graceful_shutdown": 5,
}
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


GC_THRESHOLDS: Final = (50_000, 50, 100)
"""Young collections every 50,000 allocations (Python's default is 700)."""


def tune_gc() -> None:
    """For a service process, once its app is built: what imports and the app made lives as
    long as the process, so it is moved out of the collector's sight (``gc.freeze``), and
    collections run less often. With 10,000 WebSocket clients on one process, full
    collections walked every client's objects and held up all deliveries for 150-370 ms
    about once in five changes (``tests/bench/fanout.py``)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def make_server(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server for ``app``; ``server.run()`` serves in the foreground until a signal."""
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, **UVICORN_OPTIONS)  # type: ignore[arg-type]
    return uvicorn.Server(config)


def serve_workers(host: str, port: int, workers: int, *, log_level: str = "info") -> None:
    """``workers`` processes on one socket, each calling ``worker_app``; returns on a signal."""
    uvicorn.run(
        "cloud.runtime.server:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        **UVICORN_OPTIONS,  # type: ignore[arg-type]
    )


def prepare_metrics_dir() -> Path:
    """An empty directory where the workers' Prometheus figures meet (``PROMETHEUS_MULTIPROC_DIR``:
    the operator's, else ``$RUNTIME_DIRECTORY/metrics`` under systemd, else a temporary one).
    Emptied at start: figures left by an earlier run would be added to this one's."""
    chosen = os.environ.get(METRICS_DIR_ENV)
    if chosen:
        directory = Path(chosen)
    elif os.environ.get("RUNTIME_DIRECTORY"):
        directory = Path(os.environ["RUNTIME_DIRECTORY"].split(":")[0]) / "metrics"
    else:
        directory = Path(tempfile.mkdtemp(prefix="kywash-metrics-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[METRICS_DIR_ENV] = str(directory)
    return directory


def claim_worker_slot(directory: Path, workers: int) -> int:
    """The lowest worker number (1..workers) no living worker holds, held until this process ends.

    A worker that dies is replaced by uvicorn; the replacement takes the number it freed, so
    ``KYWASH_MQTT_CLIENT_ID`` plus the number names the same persistent MQTT session again.
    """
    for number in range(1, workers + 1):
        fd = os.open(directory / f"worker-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _held_slots.append(fd)  # closed (and so released) only when the process exits
        return number
    raise RuntimeError(f"all {workers} worker numbers in {directory} are taken")


_held_slots: list[int] = []


def worker_app() -> FastAPI:
    """The app factory each worker process calls: settings from the environment (checked again)."""
    from prometheus_client import multiprocess

    from cloud.runtime.app import create_app

    level = os.environ.get("KYWASH_LOG_LEVEL", "info").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    directory = os.environ.get(METRICS_DIR_ENV)
    if directory:
        atexit.register(multiprocess.mark_process_dead, os.getpid())  # drop its WebSocket gauge
        number = claim_worker_slot(Path(directory), int(os.environ.get("KYWASH_WORKERS", "1")))
        client_id = os.environ.get("KYWASH_MQTT_CLIENT_ID")
        if client_id:  # one fixed id per worker: each keeps its own persistent session
            os.environ["KYWASH_MQTT_CLIENT_ID"] = f"{client_id}-w{number}"
    app = create_app()
    tune_gc()
    return app


class RunningServer:
    """A uvicorn server on a background thread; a context manager, or call ``close()``."""

    def __init__(self, server: uvicorn.Server) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.run, name="kywash-cloud-http", daemon=True)

    @property
    def url(self) -> str:
        config = self.server.config
        return f"http://{config.host}:{config.port}"

    @property
    def port(self) -> int:
        return int(self.server.config.port)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self, timeout: float = 30.0) -> RunningServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the cloud server on {self.url} failed to start (see the log above)")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the cloud server on {self.url} did not start in {timeout:.0f} s")
            time.sleep(0.02)
        return self

    def close(self, timeout: float = 15.0) -> None:
        """Stop accepting, finish the lifespan shutdown (ingest, WebSockets, database) and join."""
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "warning") -> RunningServer:
    """Start ``app`` on ``host:port`` in a background thread and return once it accepts requests."""
    return RunningServer(make_server(app, host, port, log_level=log_level)).start()
