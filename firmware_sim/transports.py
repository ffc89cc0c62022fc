"""Where the board's bytes go: a pseudo-terminal or a TCP port, both opened by pyserial URL.

Both behave like a real UART with nobody listening: bytes written while no reader is
attached are dropped, a slow reader makes the board drop frames rather than wait, and a
reader that goes away never crashes the board. Input from the reader is read and
ignored (the board has nothing to say back), so the reader never blocks writing either.
"""

from __future__ import annotations

import os
import pty
import socket
import threading
import tty
from typing import Literal, Protocol

TransportKind = Literal["pty", "tcp"]


class Transport(Protocol):
    url: str
    """What ``serial.serial_for_url`` opens to read the board."""

    def write(self, data: bytes) -> bool:
        """Write one chunk without blocking; False if it was dropped (or only partly sent)."""
        ...

    def close(self) -> None: ...


class PtyTransport:
    """A pseudo-terminal: the board holds the master, a reader opens ``url`` (the slave)."""

    def __init__(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)
        self.url = os.ttyname(slave)
        # Holding the slave open ourselves would queue frames for nobody; readers open the path.
        os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self._lock = threading.Lock()
        self._closed = False
        self.dropped = 0

    def write(self, data: bytes) -> bool:
        with self._lock:
            if self._closed or not self._reader_attached():
                self.dropped += 1
                return False
            try:
                sent = os.write(self._master, data)
            except OSError:  # EAGAIN: the reader is not keeping up; EIO: it just went away
                self.dropped += 1
                return False
            return sent == len(data)

    def _reader_attached(self) -> bool:
        """Drain (and ignore) what the reader wrote; EIO from the master means no reader."""
        while True:
            try:
                if not os.read(self._master, 4096):
                    return False
            except BlockingIOError:
                return True
            except OSError:
                return False

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._master)


class TcpTransport:
    """A listening socket on 127.0.0.1; frames go to the newest connected client, if any.

    Like a serial-to-network bridge: a client that connects replaces the previous one
    (the edge reconnecting after a hiccup must not find its port taken by a dead socket).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = socket.create_server((host, port))
        self._server.setblocking(False)
        self.port: int = self._server.getsockname()[1]
        self.url = f"socket://{host}:{self.port}"
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.dropped = 0

    def write(self, data: bytes) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._accept_newest()
            client = self._client
            if client is None or not self._client_alive(client):
                self.dropped += 1
                return False
            try:
                sent = client.send(data, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
            except BlockingIOError:
                self.dropped += 1
                return False
            except OSError:
                self._drop_client()
                return False
            return sent == len(data)

    def _accept_newest(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # BlockingIOError: nobody waiting
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._drop_client()
            self._client = conn

    def _client_alive(self, client: socket.socket) -> bool:
        """Drain (and ignore) what the client sent; an empty read means it hung up."""
        while True:
            try:
                data = client.recv(4096)
            except BlockingIOError:
                return True
            except OSError:
                self._drop_client()
                return False
            if not data:
                self._drop_client()
                return False

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._drop_client()
                self._server.close()


def open_transport(kind: TransportKind) -> PtyTransport | TcpTransport:
    if kind == "pty":
        return PtyTransport()
    if kind == "tcp":
        return TcpTransport()
    raise ValueError(f"unknown serial transport {kind!r}; expected 'pty' or 'tcp'")
