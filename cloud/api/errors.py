"""The one place that turns errors into HTTP responses (the tree is ``cloud.platform.errors``).

Every failure — ours, FastAPI's request validation, Starlette's 404/405, and any bug —
leaves as ``{"error": {"code", "message", ...extra}}``. A 500 carries only a generic
message and an incident id that is also in the log line with the traceback.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud.platform.errors import (
    CloudError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Throttled,
    TryAgain,
    Unauthorized,
    Unavailable,
    UnsupportedMedia,
)
from cloud.platform.languages import Language, reader_language
from cloud.platform.texts import render

log = logging.getLogger(__name__)


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


def request_language(request: Request) -> Language:
    """Whose words an error is in: the logged-in user's language, else the first supported one
    of ``Accept-Language`` (the web app sends its page's), else English."""
    viewer = getattr(request.state, "viewer", None)
    return reader_language(getattr(viewer, "language", None), request.headers.get("accept-language"))


def _in_language(exc: CloudError, language: Language) -> tuple[str, dict[str, Any]]:
    """The error's message and extra fields as a reader of ``language`` reads them."""
    message = render(exc.text, language) if exc.text is not None else str(exc)
    extra = dict(exc.extra)
    if exc.field_texts:
        extra["fields"] = [
            {**shown, "message": render(text, language)} if text is not None else shown
            for shown, text in zip(extra["fields"], exc.field_texts, strict=False)
        ]
    return message, extra


async def _cloud_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CloudError)
    status = status_for(exc)
    message, extra = _in_language(exc, request_language(request))
    headers: dict[str, str] = {}
    if isinstance(exc, Throttled | TryAgain):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(exc.code, message, **extra), status_code=status, headers=headers)


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
