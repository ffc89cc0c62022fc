"""Start a private Mosquitto on a free loopback port (never the system one on 1883)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from kywash.broker import free_port


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

    def __init__(self, workdir: Path, port: int = 0) -> None:
        binary = find_mosquitto()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed")
        self.host, self.port = "127.0.0.1", port or free_port()
        conf = workdir / f"mosquitto-{self.port}.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\n"
            # Mosquitto silently drops QoS 1 beyond 1,000 queued messages per client by default.
            "max_queued_messages 0\npersistence false\nlog_dest stderr\nlog_type error\n"
        )
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_for_port(self.host, self.port, 10):
            self.close()
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            raise RuntimeError(f"mosquitto did not start: {err.strip()}")

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
