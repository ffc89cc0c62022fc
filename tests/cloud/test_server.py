"""The service under a real uvicorn (the helper the demo reuses): HTTP and WebSocket clients."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from cloud.runtime.server import serve
from launchers.broker import free_port
from tests.support.live import bearer, issue_access_token

EMPTY_SNAPSHOT = {"type": "snapshot", "rooms": [], "machines": [], "rate": 1.0}


def without_now(snapshot: dict[str, object]) -> dict[str, object]:
    """The snapshot less its ``server_time`` (the real clock's now), which must be there."""
    assert isinstance(snapshot.pop("server_time"), str)
    return snapshot


def test_serve_runs_the_lifespan_and_answers_http_and_websocket(tmp_path: Path, unique_site: str) -> None:
    settings = CloudSettings(database_url=f"sqlite:///{tmp_path / 'c.db'}", ingest_enabled=False)
    app = create_app(settings)
    with serve(app, "127.0.0.1", free_port()) as server:
        health = httpx.get(f"{server.url}/api/health", timeout=5).json()
        assert (health["status"], health["mqtt"]) == ("ok", "disabled")
        cloud = app.state.cloud
        token = issue_access_token(cloud.engine, cloud.settings, cloud.clock.now())
        ws_url = server.url.replace("http://", "ws://") + f"/api/ws?site={unique_site}"
        with connect(ws_url, additional_headers=bearer(token), open_timeout=5) as ws:
            assert without_now(json.loads(ws.recv(timeout=5))) == EMPTY_SNAPSHOT
            started_closing = time.monotonic()
            server.close()  # with a client still connected
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
    assert not server.running
    assert time.monotonic() - started_closing < 5


def test_the_websocket_wants_a_token_first_over_real_sockets(tmp_path: Path) -> None:
    """What a browser does (the token as the first message), and what an anonymous client gets."""
    settings = CloudSettings(database_url=f"sqlite:///{tmp_path / 'c.db'}", ingest_enabled=False)
    app = create_app(settings)
    with serve(app, "127.0.0.1", free_port()) as server:
        cloud = app.state.cloud
        ws_url = server.url.replace("http://", "ws://") + "/api/ws"
        token = issue_access_token(cloud.engine, cloud.settings, cloud.clock.now())
        with connect(ws_url, open_timeout=5) as ws:
            ws.send(json.dumps({"type": "auth", "token": token}))
            assert without_now(json.loads(ws.recv(timeout=5))) == EMPTY_SNAPSHOT
        with connect(ws_url, open_timeout=5) as ws:
            ws.send(json.dumps({"type": "auth", "token": "forged"}))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_service_process_freezes_what_it_built_and_collects_less_often() -> None:
    import subprocess
    import sys

    code = (
        "import gc; from cloud.runtime.server import GC_THRESHOLDS, tune_gc; tune_gc(); "
        "assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold(); assert gc.get_freeze_count() > 0"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
