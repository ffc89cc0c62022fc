"""The server's now and its rate, added to an answer's cached JSON text as it is sent.

Pages count time left, countdowns and "… ago" on the server's clock, not the device's (a
phone's may be hours off, and a sped-up demo's server clock runs faster than real time):
the WebSocket snapshot and the REST machine list both say what that clock reads. Both are
served from shared, cached text, so the two fields, which are this send's, are spliced in
at the end of the JSON object instead of rendering it again.
"""

from __future__ import annotations

from kywash.clock import Clock, iso, to_datetime

CLOCK_FIELDS = frozenset({"server_time", "rate"})
"""Left out of the cached text (``model_dump(exclude=CLOCK_FIELDS)``); ``with_clock`` adds them."""


def clock_rate(clock: Clock) -> float:
    """Server seconds per real second: a ``ScaledClock``'s speed; 1 for the real one."""
    return float(getattr(clock, "speed", 1.0))


def clock_fields(clock: Clock) -> str:
    """``,"server_time":"…Z","rate":60.0}``: the end of a JSON object, with the clock's now
    and its rate."""
    return f',"server_time":"{iso(to_datetime(clock.now()))}","rate":{clock_rate(clock)}}}'


def with_clock(text: str, clock: Clock) -> str:
    """A JSON object's text with ``server_time`` and ``rate`` at the end."""
    return text[:-1] + clock_fields(clock)


def with_clock_bytes(body: bytes, clock: Clock) -> bytes:
    """``with_clock`` for a response body."""
    return body[:-1] + clock_fields(clock).encode()
