"""The service under a real uvicorn (the helper the demo reuses): HTTP and WebSocket clients."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from cloud.app import create_app
from cloud.server import serve
from cloud.settings import CloudSettings
from kywash.broker import free_port


def test_serve_runs_the_lifespan_and_answers_http_and_websocket(tmp_path: Path, unique_site: str) -> None:
    settings = CloudSettings(database_url=f"sqlite:///{tmp_path / 'c.db'}", ingest_enabled=False)
    with serve(create_app(settings), "127.0.0.1", free_port()) as server:
        health = httpx.get(f"{server.url}/api/health", timeout=5).json()
        assert (health["status"], health["mqtt"]) == ("ok", "disabled")
        ws_url = server.url.replace("http://", "ws://") + f"/api/ws?site={unique_site}"
        with connect(ws_url, open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5)) == {"type": "snapshot", "rooms": [], "machines": []}
            started_closing = time.monotonic()
            server.close()  # with a client still connected
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
    assert not server.running
    assert time.monotonic() - started_closing < 5
