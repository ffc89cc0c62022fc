"""The cloud's one error tree, and the one place that turns it into HTTP responses.

Domain code raises these; routes never build ``HTTPException`` themselves, so the status
code for "not found" or "conflict" is decided here, once::

    CloudError
     ├── NotFound (LookupError)          404
     ├── Conflict                        409
     ├── InvalidInput (ValueError)       400
     ├── Unavailable                     503  (a dependency such as the database is down)
     └── IngestRejected                  never reaches HTTP: an MQTT message refused by ingest
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class CloudError(Exception):
    """Root of every error the cloud raises on purpose."""


class NotFound(CloudError, LookupError):  # noqa: N818 - named for what happened, as in HTTP
    """The thing asked for does not exist (a room, a machine)."""


class Conflict(CloudError):  # noqa: N818 - named for what happened, as in HTTP
    """The request is valid but clashes with the current state."""


class InvalidInput(CloudError, ValueError):  # noqa: N818 - named for what happened, as in HTTP
    """The request names something impossible or ambiguous."""


class Unavailable(CloudError):  # noqa: N818 - named for what happened, as in HTTP
    """A dependency (the database, the broker) cannot serve the request right now."""


class IngestRejected(CloudError):  # noqa: N818 - named for what happened, as in HTTP
    """An MQTT message that ingest refuses; ``reason`` is the counter label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


STATUS_BY_ERROR: Final[tuple[tuple[type[CloudError], int], ...]] = (
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 400),
    (Unavailable, 503),
)


def status_for(exc: CloudError) -> int:
    """The HTTP status of an error: the first matching class wins, anything else is 500."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


async def _cloud_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CloudError)
    return JSONResponse({"detail": str(exc)}, status_code=status_for(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Map the whole tree to ``{"detail": message}`` with the status from ``STATUS_BY_ERROR``."""
    app.add_exception_handler(CloudError, _cloud_error_response)
