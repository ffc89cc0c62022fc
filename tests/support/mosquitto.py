"""Start a private Mosquitto on a free loopback port (never the system one on 1883).

``MosquittoProcess(workdir, persistence=True)`` keeps retained messages, persistent
sessions and their queued QoS 1 messages in ``workdir``: ``stop()`` then ``start()`` is a
broker restart on the same port that loses none of them (the chaos tests, tests/chaos/).
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

from launchers.broker import free_port


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class MosquittoProcess:
    """A Mosquitto process with a minimal config: anonymous on loopback, no queue limit."""

    def __init__(
        self, workdir: Path, port: int = 0, *, persistence: bool = False, max_inflight: int | None = None
    ) -> None:
        binary = find_mosquitto()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed")
        self.binary = binary
        self.host, self.port = "127.0.0.1", port or free_port()
        self.conf = conf = workdir / f"mosquitto-{self.port}.conf"
        stored = "persistence false\n"
        if persistence:  # as root, Mosquitto would drop to user "mosquitto", who cannot write to ``workdir``
            stored = f"persistence true\npersistence_location {workdir}/\nuser {getpass.getuser()}\n"
        conf.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\n"
            # Mosquitto silently drops QoS 1 beyond 1,000 queued messages per client by default.
            f"max_queued_messages 0\n{stored}log_dest stderr\nlog_type error\n"
            + (f"max_inflight_messages {max_inflight}\n" if max_inflight is not None else "")
        )
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.proc = proc
        if not wait_for_port(self.host, self.port, 10):
            self.close()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"mosquitto did not start: {err.strip()}")
        return proc

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Stop the broker (SIGTERM: with persistence on, it writes its database first)."""
        self.close()

    def start(self) -> None:
        """Start it again on the same port and config, after ``stop()``."""
        if self.running:
            raise RuntimeError("mosquitto is already running")
        self._spawn()

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
