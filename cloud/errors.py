"""The cloud's one error tree, and the one place that turns errors into HTTP responses.

Domain code raises these; routes never build ``HTTPException`` themselves, so the status
code for "not found" or "conflict" is decided here, once. Every failure — ours, FastAPI's
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

A 500 carries only a generic message and an incident id that is also in the log line with
the traceback: no stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class CloudError(Exception):
    """Root of every error the cloud raises on purpose.

    ``code`` is a stable machine-readable word for clients (the web app picks its message
    by it); ``extra`` adds fields to the error body (for example ``retry_after``).
    """

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
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

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
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

    def __init__(self, message: str, *, retry_after: float = 1) -> None:
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


STATUS_BY_ERROR: Final[tuple[tuple[type[CloudError], int], ...]] = (
    (InvalidInput, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (UnsupportedMedia, 415),
    (Throttled, 429),
    (Unavailable, 503),
)

_CODE_BY_STATUS: Final = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media",
    422: "invalid_input",
    429: "throttled",
}


def status_for(exc: CloudError) -> int:
    """The HTTP status of an error: the first matching class wins, anything else is 500."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


async def _cloud_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CloudError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, Throttled | TryAgain):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(exc.code, str(exc), **exc.extra), status_code=status, headers=headers)


async def _validation_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        fields.append({"field": location, "message": message})
    summary = "; ".join(f"{f['field']}: {f['message']}" if f["field"] else f["message"] for f in fields[:5])
    return JSONResponse(error_body("invalid_input", summary or "invalid request", fields=fields), status_code=422)


async def _http_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_BY_STATUS.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _unexpected_response(request: Request, exc: Exception) -> JSONResponse:
    incident = secrets.token_hex(6)
    log.error("unhandled error on %s %s (incident %s)", request.method, request.url.path, incident, exc_info=exc)
    return JSONResponse(
        error_body("internal", "something went wrong on our side; it has been logged", incident=incident),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Every failure leaves as ``{"error": {"code", "message", ...}}`` (see the module docstring)."""
    app.add_exception_handler(CloudError, _cloud_error_response)
    app.add_exception_handler(RequestValidationError, _validation_response)
    app.add_exception_handler(StarletteHTTPException, _http_error_response)
    app.add_exception_handler(Exception, _unexpected_response)
