"""A TCP proxy on a loopback port that a test can cut: an edge cut off from its broker.

``TcpProxy(target_host, target_port)`` listens on a free port of 127.0.0.1 and forwards
every connection to the target, on an asyncio loop in its own thread. ``pause()`` drops
every open connection and stops listening, so a client's reconnect attempts are refused
(as when a room's Wi-Fi is down); ``resume()`` listens again on the same port. The target
may itself go away and come back (a broker restart): each new connection dials it afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType

from launchers.broker import free_port

_CHUNK = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host, self.port = host, port or free_port()
        self.connections_total = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._thread.start()
        self._call(self._listen())

    @property
    def url(self) -> str:
        """As an MQTT URL (the proxy carries any TCP, but MQTT is what the tests put through it)."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def paused(self) -> bool:
        return self._server is None

    def pause(self) -> None:
        """Drop every connection and refuse new ones until ``resume()``."""
        self._call(self._pause())

    def resume(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._call(self._pause())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- on the proxy's loop -------------------------------------------------------------

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)

    async def _pause(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # a cable pulled: no FIN handshake to wait for
        self._writers.clear()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self._server is None:
            client_w.transport.abort()
            return
        try:
            target_r, target_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        self.connections_total += 1
        self._writers |= {client_w, target_w}
        try:
            await asyncio.gather(self._pipe(client_r, target_w), self._pipe(target_r, client_w))
        finally:
            for writer in (client_w, target_w):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(_CHUNK):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()  # one side gone: the other goes too, as across a real link
