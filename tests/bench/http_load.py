#!/usr/bin/env python3
"""A lean HTTP/1.1 keep-alive load generator, for when neither ``wrk`` nor ``ab`` is installed.

Each connection sends one hand-written ``GET`` at a time and the next as soon as the
response (status line, headers, ``Content-Length`` bytes of body) has arrived: no HTTP
library, no per-request objects, just ``asyncio.Protocol`` callbacks. It only imports the
standard library, so it starts in a few milliseconds, and ``tests/bench/api.py`` runs it
as its own process(es) so the client's CPU is not taken from the server's process.

Responses are counted only inside the measuring window (after ``--warmup``). It prints one
JSON line: ``{"responses", "non_200", "errors", "elapsed"}``. Usage::

    python tests/bench/http_load.py http://127.0.0.1:8000/api/v1/machines/ \\
        [--connections 50] [--seconds 5] [--warmup 1] [--header "Authorization: Bearer ..."]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

HEADER_END = b"\r\n\r\n"
CONTENT_LENGTH = b"\r\ncontent-length:"


@dataclass
class Counts:
    measuring: bool = False
    stopping: bool = False
    responses: int = 0
    non_200: int = 0
    errors: int = 0


class Connection(asyncio.Protocol):
    """One keep-alive connection with a single request in flight."""

    def __init__(self, request: bytes, counts: Counts, closed: asyncio.Future[None]) -> None:
        self.request = request
        self.counts = counts
        self.closed = closed
        self.buffer = bytearray()
        self.need = -1  # bytes of the current response (head + body); -1 until its head is in
        self.status = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            if self.need < 0:
                end = buffer.find(HEADER_END)
                if end < 0:
                    return
                head = bytes(buffer[:end]).lower()
                at = head.find(CONTENT_LENGTH)
                if at < 0:  # chunked or close-delimited: not what a JSON endpoint sends
                    self._fail()
                    return
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + len(CONTENT_LENGTH) : stop if stop >= 0 else len(head)])
                self.status = int(head[9:12])
                self.need = end + len(HEADER_END) + length
            if len(buffer) < self.need:
                return
            del buffer[: self.need]
            self.need = -1
            counts = self.counts
            if counts.measuring:
                counts.responses += 1
                if self.status != 200:
                    counts.non_200 += 1
            if counts.stopping:
                assert self.transport is not None
                self.transport.close()
                return
            assert self.transport is not None
            self.transport.write(self.request)

    def _fail(self) -> None:
        assert self.transport is not None
        self.transport.close()  # counted as an error by connection_lost

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.counts.stopping and self.counts.measuring:
            self.counts.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


def build_request(url: str, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"only http:// URLs are supported, not {url!r}")
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.hostname}:{port}", "Accept: application/json", *headers]
    return parts.hostname, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def run(url: str, connections: int, seconds: float, warmup: float, headers: list[str]) -> dict[str, float]:
    host, port, request = build_request(url, headers)
    loop = asyncio.get_running_loop()
    counts = Counts()

    async def keep_connected() -> None:
        while not counts.stopping:  # reconnect if the server drops a connection
            closed: asyncio.Future[None] = loop.create_future()
            try:
                await loop.create_connection(partial(Connection, request, counts, closed), host, port)
            except OSError:
                if counts.measuring:
                    counts.errors += 1
                await asyncio.sleep(0.05)
                continue
            await closed

    tasks = [asyncio.create_task(keep_connected()) for _ in range(connections)]
    await asyncio.sleep(warmup)
    counts.measuring = True
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    counts.measuring = False
    elapsed = time.perf_counter() - start
    counts.stopping = True
    await asyncio.wait(tasks, timeout=5)
    for task in tasks:
        task.cancel()
    return {"responses": counts.responses, "non_200": counts.non_200, "errors": counts.errors, "elapsed": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--header", action="append", default=[], help='an extra request header, "Name: value"')
    args = parser.parse_args()
    result = asyncio.run(run(args.url, args.connections, args.seconds, args.warmup, args.header))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
