"""The cloud's one error tree. ``cloud.api.errors`` is the one place that turns it into HTTP.

Domain code raises these; routes never build ``HTTPException`` themselves, so the status
code for "not found" or "conflict" is decided there, once. Every failure — ours, FastAPI's
request validation, Starlette's 404/405, and any bug — leaves as the same body::

    {"error": {"code": "machine_taken", "message": "washer 2 is in use", ...extra}}

    CloudError
     ├── InvalidInput (ValueError)       422  the request names something impossible or ambiguous
     ├── Unauthorized                    401  no, expired or revoked credentials (or a wrong PIN)
     ├── Forbidden (PermissionError)     403  authenticated, but not allowed
     ├── NotFound (LookupError)          404  does not exist, or is not yours to see
     ├── Conflict                        409  valid, but clashes with the current state
     ├── PayloadTooLarge                 413  an upload over its limit
     ├── UnsupportedMedia                415  an upload of a type we refuse
     ├── Throttled                       429  too many attempts; ``retry_after`` seconds
     ├── Unavailable                     503  a dependency such as the database is down
     │    └── TryAgain                   503  the write was not committed (a lock, a serialization
     │                                        failure): nothing of it happened; ``Retry-After``
     └── IngestRejected                  never reaches HTTP: an MQTT message refused by ingest

A message may be a catalog ``Text`` (``cloud.platform.texts``): the error then carries it
besides its English words (``str(exc)``, what logs and most tests read), and the body's
``message`` (and each ``fields[].message`` given as a ``Text``) is rendered in the request's
language.

A 500 carries only a generic message and an incident id that is also in the log line with
the traceback: no stack trace ever reaches a client.
"""

from __future__ import annotations

import math
from typing import Any

from cloud.platform.texts import Text, render


class CloudError(Exception):
    """Root of every error the cloud raises on purpose.

    ``code`` is a stable machine-readable word for clients (the web app picks its message
    by it); ``extra`` adds fields to the error body (for example ``retry_after``).
    """

    code: str = "error"
    text: Text | None = None
    """The message as a catalog text (None: plain English words only)."""
    field_texts: tuple[Text | None, ...] = ()
    """Each of ``extra["fields"]``'s messages as a catalog text, in order."""

    def __init__(self, message: str | Text, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(render(message))
        if isinstance(message, Text):
            self.text = message
        if code is not None:
            self.code = code
        fields = extra.get("fields")
        if isinstance(fields, list) and any(isinstance(f.get("message"), Text) for f in fields):
            self.field_texts = tuple(f["message"] if isinstance(f["message"], Text) else None for f in fields)
            extra["fields"] = [{**f, "message": render(f["message"])} for f in fields]
        self.extra = extra


class InvalidInput(CloudError, ValueError):  # noqa: N818 - named for what happened, as in HTTP
    code = "invalid_input"


class Unauthorized(CloudError):  # noqa: N818
    code = "unauthorized"


class Forbidden(CloudError, PermissionError):  # noqa: N818
    code = "forbidden"


class NotFound(CloudError, LookupError):  # noqa: N818
    code = "not_found"


class Conflict(CloudError):  # noqa: N818
    code = "conflict"


class PayloadTooLarge(CloudError):  # noqa: N818
    code = "too_large"


class UnsupportedMedia(CloudError):  # noqa: N818
    code = "unsupported_media"


class Throttled(CloudError):  # noqa: N818
    """Too many attempts; the client may try again after ``retry_after`` seconds."""

    code = "throttled"

    def __init__(self, message: str | Text, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code, retry_after=max(1, math.ceil(retry_after)))

    @property
    def retry_after(self) -> int:
        value: int = self.extra["retry_after"]
        return value


class Unavailable(CloudError):  # noqa: N818
    code = "unavailable"


class TryAgain(Unavailable):
    """The transaction could not commit (the database busy, a serialization failure): nothing
    of the request happened, and the same request may simply be sent again."""

    code = "try_again"

    def __init__(self, message: str | Text, *, retry_after: float = 1) -> None:
        super().__init__(message, retry_after=max(1, math.ceil(retry_after)))

    @property
    def retry_after(self) -> int:
        value: int = self.extra["retry_after"]
        return value


class IngestRejected(CloudError):  # noqa: N818
    """An MQTT message that ingest refuses; ``reason`` is the counter label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=reason)
        self.reason = reason
