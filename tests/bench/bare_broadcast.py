#!/usr/bin/env python3
"""The baseline of ``tests/bench/fanout.py``: a bare FastAPI app that broadcasts to every WebSocket.

``/ws`` accepts, sends the JSON object of ``--snapshot-file`` (the benchmark passes the
snapshot the cloud sent its clients for the same room, so the size is the real one) and
keeps the socket in a set until it goes away. ``POST /broadcast?door=open`` sends the
machine message of ``--machine-file`` (the one the cloud sent, with ``door`` set as asked)
to every socket in the set, one ``send_json`` per socket, as the usual FastAPI connection
manager does; it answers with how many sockets it sent to. No database, no hub, no
authentication, no personalisation: the floor any FastAPI broadcast pays. Served by
``cloud.runtime.server.make_server``, so the uvicorn settings (loop, WebSocket
implementation, per-message deflate, log level, one worker) are exactly the cloud's. Usage::

    .venv/bin/python tests/bench/bare_broadcast.py --port 8003 --snapshot-file snapshot.json \\
        --machine-file machine.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI, WebSocket, WebSocketDisconnect  # noqa: E402

from cloud.runtime.server import make_server  # noqa: E402

WS_PATH = "/ws"
BROADCAST_PATH = "/broadcast"


def create_bare_broadcast_app(snapshot: dict[str, Any], machine: dict[str, Any]) -> FastAPI:
    app = FastAPI(title="bare-broadcast")
    sockets: set[WebSocket] = set()

    @app.websocket(WS_PATH)
    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(snapshot)
        sockets.add(websocket)
        try:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        except WebSocketDisconnect:
            pass
        finally:
            sockets.discard(websocket)

    @app.post(BROADCAST_PATH)
    async def broadcast(door: str = "open") -> dict[str, int]:
        message = {**machine, "machine": {**machine["machine"], "door": door}}
        sent = 0
        for websocket in list(sockets):
            try:
                await websocket.send_json(message)
                sent += 1
            except (RuntimeError, WebSocketDisconnect, OSError):
                sockets.discard(websocket)
        return {"sent": sent}

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--snapshot-file", type=Path, required=True, help="the JSON object each client gets first")
    parser.add_argument("--machine-file", type=Path, required=True, help="the JSON object each broadcast sends")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    snapshot = json.loads(args.snapshot_file.read_text())
    machine = json.loads(args.machine_file.read_text())
    app = create_bare_broadcast_app(snapshot, machine)
    make_server(app, args.host, args.port, log_level=args.log_level).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
