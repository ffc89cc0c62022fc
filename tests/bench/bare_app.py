#!/usr/bin/env python3
"""The baseline of ``tests/bench/api.py``: a bare FastAPI app with one JSON route.

``GET /api/v1/machines/`` returns a constant body (the benchmark passes the cloud's own
12-machine answer as ``--body-file``), served by ``cloud.runtime.server.make_server`` so the uvicorn
settings (loop, HTTP implementation, log level, single worker) are exactly the cloud's.
No database, no dependencies, no response model: the floor any FastAPI JSON endpoint pays.
By default the route is ``async def`` (no thread-pool hop); ``--sync`` makes it ``def``,
like the cloud's route, to see what the hop costs. Usage::

    .venv/bin/python tests/bench/bare_app.py --port 8001 --body-file body.json [--sync]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402

from cloud.runtime.server import make_server  # noqa: E402

PATH = "/api/v1/machines/"


def create_bare_app(body: dict[str, Any], *, sync: bool = False) -> FastAPI:
    app = FastAPI(title="bare")
    if sync:

        @app.get(PATH)
        def machines_sync() -> dict[str, Any]:
            return body

    else:

        @app.get(PATH)
        async def machines() -> dict[str, Any]:
            return body

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True, help="the JSON object the route returns")
    parser.add_argument("--sync", action="store_true", help="a plain `def` route (run on the thread pool)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    body = json.loads(args.body_file.read_text())
    make_server(create_bare_app(body, sync=args.sync), args.host, args.port, log_level=args.log_level).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
