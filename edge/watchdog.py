"""systemd ``Type=notify`` and ``WatchdogSec=``: sd_notify written here, no dependency.

The protocol is one datagram of ``KEY=value`` lines to the unix socket named by
``NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract socket). ``Notifier`` sends them
and is a no-op when the variable is unset (a laptop, a test, the demo), so the agent
never needs to know whether systemd runs it.

``Watchdog`` sends ``READY=1`` once the agent has started, ``WATCHDOG=1`` every
``WATCHDOG_USEC / 2`` — but only while ``check()`` says the agent is healthy — a
``STATUS=`` line whenever the health verdict changes, and ``STOPPING=1`` on close. When
the pings stop, systemd kills and restarts the agent after ``WatchdogSec``; the outbox
makes that safe. The agent's check (``EdgeAgent.health``) combines the sensor loop's
``Heartbeat`` (beaten every loop turn, at least every 50 ms) and ``Publisher.healthy``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]


class Notifier:
    """Sends sd_notify datagrams to ``address`` (None: to nobody)."""

    def __init__(self, address: str | None) -> None:
        self.address = address or None
        self._sock: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send the lines as one datagram; False (logged once) if it cannot be sent."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)  # a stuck listener must not stall the agent's threads
            self._sock.sendto("\n".join(lines).encode(), target)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
            return False
        return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between pings (half of ``WATCHDOG_USEC``, as sd_watchdog_enabled advises); None: off."""
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None  # meant for another process (we were started by a wrapper)
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


class Heartbeat:
    """A loop calls ``beat()`` every turn; ``age()`` says how long ago the last one was."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._last = monotonic()

    def beat(self) -> None:
        self._last = self._monotonic()

    def age(self) -> float:
        return self._monotonic() - self._last


class Watchdog:
    """Pings systemd while ``check()`` is healthy; ``tick()`` does one round, ``start()`` a thread."""

    def __init__(
        self, notifier: Notifier, check: Check, interval: float | None, *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.notifier = notifier
        self.interval = interval
        self._check = check
        self._monotonic = monotonic
        self._next = monotonic()
        self._verdict: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pings = 0

    def ready(self, status: str) -> None:
        """The agent has started: ``READY=1`` and a first status line."""
        self.notifier.notify("READY=1", f"STATUS={status}")

    def tick(self) -> bool:
        """Check health; ping if healthy and the interval is due. True if pinged."""
        ok, why = self._check()
        if ok != self._verdict:  # one log and STATUS line per change, not per tick
            if not ok:
                log.error("unhealthy, withholding the watchdog ping: %s", why)
            elif self._verdict is not None:
                log.warning("healthy again: %s", why)
            self._verdict = ok
            self.notifier.notify(f"STATUS={'running' if ok else 'UNHEALTHY'}: {why}")
        if not ok or self.interval is None:
            return False
        now = self._monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        self.pings += 1
        return self.notifier.notify("WATCHDOG=1")

    def start(self) -> Watchdog:
        """Tick in a thread (only when systemd asked for pings)."""
        if self.interval is None or not self.notifier.enabled or self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="kywash-watchdog", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        period = max(min(self.interval or 1.0, 1.0) / 2, 0.005)
        while not self._stop.wait(period):
            try:
                self.tick()
            except Exception:  # a failing check must not end the thread: it just withholds pings
                log.exception("watchdog check failed")

    def close(self) -> None:
        """Stop pinging and tell systemd we are stopping (so a slow exit is no watchdog failure)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.notifier.notify("STOPPING=1")
        self.notifier.close()
