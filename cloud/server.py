"""Serve an app with uvicorn: in the foreground (the CLI) or on a background thread (demo, tests).

``serve`` returns a started server the caller can stop; the lifespan (migrations, ingest)
has finished starting by the time it returns, and a startup failure is raised, not hidden.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI


def make_server(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server for ``app``; ``server.run()`` serves in the foreground until a signal."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        ws="websockets-sansio",  # not the legacy websockets protocol, which is deprecated
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


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
