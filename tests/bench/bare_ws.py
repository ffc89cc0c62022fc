#!/usr/bin/env python3
"""The WebSocket baseline of ``tests/bench/e2e_latency.py``: a bare FastAPI app with one WebSocket route.

``/bench/ws`` accepts, then for every text frame the client sends, answers with one JSON
message: the body given as ``--body-file`` (the benchmark passes the machine message the
student's client just got from the cloud, so the size is the real one) plus ``sent_ns``,
the server's ``CLOCK_MONOTONIC`` reading taken just before ``send_json``. That clock is
system-wide on Linux, so the client on the same machine can tell the one-way send time
(``sent_ns`` → received and parsed) as well as the round trip. Sent with ``send_json`` as
the cloud's ``/api/ws`` does, and served by ``cloud.runtime.server.make_server``, so the
uvicorn settings (loop, WebSocket implementation, log level, single worker) are exactly
the cloud's. No database, no hub, no authentication: the floor any FastAPI WebSocket send
pays. Usage::

    .venv/bin/python tests/bench/bare_ws.py --port 8002 --body-file message.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI, WebSocket, WebSocketDisconnect  # noqa: E402

from cloud.runtime.server import make_server  # noqa: E402

PATH = "/bench/ws"
SENT_FIELD = "sent_ns"


def now_ns() -> int:
    """``CLOCK_MONOTONIC`` in nanoseconds: one clock for every process on the machine (Linux)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def create_bare_ws_app(body: dict[str, Any]) -> FastAPI:
    app = FastAPI(title="bare-ws")

    @app.websocket(PATH)
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.receive_text()
                await websocket.send_json({**body, SENT_FIELD: now_ns()})
        except WebSocketDisconnect:
            return

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True, help="the JSON object each answer carries")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    body = json.loads(args.body_file.read_text())
    make_server(create_bare_ws_app(body), args.host, args.port, log_level=args.log_level).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
