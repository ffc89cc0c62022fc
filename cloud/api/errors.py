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
from cloud.platform.texts import Text, catalog, render, text

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


_VALIDATION_KEYS: Final = {
    "missing": "error.validation.missing",
    "extra_forbidden": "error.validation.extra_forbidden",
    "string_type": "error.validation.string_type",
    "string_too_short": "error.validation.string_too_short",
    "string_too_long": "error.validation.string_too_long",
    "string_pattern_mismatch": "error.validation.string_pattern_mismatch",
    "too_short": "error.validation.too_short",
    "too_long": "error.validation.too_long",
    "float_parsing": "error.validation.number",
    "float_type": "error.validation.number",
    "finite_number": "error.validation.number",
    "int_parsing": "error.validation.whole_number",
    "int_type": "error.validation.whole_number",
    "int_from_float": "error.validation.whole_number",
    "bool_parsing": "error.validation.bool",
    "bool_type": "error.validation.bool",
    "greater_than": "error.validation.greater_than",
    "greater_than_equal": "error.validation.greater_than_equal",
    "less_than": "error.validation.less_than",
    "less_than_equal": "error.validation.less_than_equal",
    "enum": "error.validation.one_of",
    "literal_error": "error.validation.one_of",
    "model_type": "error.validation.object",
    "model_attributes_type": "error.validation.object",
    "dict_type": "error.validation.object",
    "list_type": "error.validation.list",
    "json_invalid": "error.validation.json_invalid",
    "date_parsing": "error.validation.date",
    "date_from_datetime_parsing": "error.validation.date",
    "date_type": "error.validation.date",
    "datetime_parsing": "error.validation.datetime",
    "datetime_from_date_parsing": "error.validation.datetime",
    "datetime_type": "error.validation.datetime",
    "url_parsing": "error.validation.url",
    "url_scheme": "error.validation.url",
    "url_type": "error.validation.url",
}
"""pydantic's error types the catalog words; any other keeps pydantic's English message."""


def _validation_text(error: Any) -> Text | str:
    """One pydantic error as a catalog text: a validator's own (``texts.invalid``: its type is
    the key), a built-in check's (by ``_VALIDATION_KEYS``), else pydantic's words."""
    kind = str(error.get("type", ""))
    context = {name: str(value) for name, value in (error.get("ctx") or {}).items()}
    key = kind if kind in catalog("en") else _VALIDATION_KEYS.get(kind)
    if key is not None:
        try:
            render(text(key, **context))  # a built-in check may lack a parameter our words name
        except (KeyError, IndexError):
            key = None
    if key is None:
        return str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return text(key, **context)


async def _validation_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    language = request_language(request)
    fields = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        if error.get("type") == "json_invalid":
            location = ""  # its location is a character offset, not a field
        fields.append({"field": location, "message": render(_validation_text(error), language)})
    said = [
        render(text("error.field", field=f["field"], message=f["message"]), language) if f["field"] else f["message"]
        for f in fields[:5]
    ]
    summary = "; ".join(said) or render(text("error.invalid_request"), language)
    return JSONResponse(error_body("invalid_input", summary, fields=fields), status_code=422)


async def _http_error_response(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own 404/405/...: its detail is the HTTP reason phrase, so the words are ours."""
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_BY_STATUS.get(exc.status_code, "error")
    key = f"error.http.{code}"
    if key in catalog("en"):
        message = render(text(key), request_language(request))
    else:
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _unexpected_response(request: Request, exc: Exception) -> JSONResponse:
    incident = secrets.token_hex(6)
    log.error("unhandled error on %s %s (incident %s)", request.method, request.url.path, incident, exc_info=exc)
    message = render(text("error.internal"), request_language(request))
    return JSONResponse(error_body("internal", message, incident=incident), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Every failure leaves as ``{"error": {"code", "message", ...}}`` (see the module docstring)."""
    app.add_exception_handler(CloudError, _cloud_error_response)
    app.add_exception_handler(RequestValidationError, _validation_response)
    app.add_exception_handler(StarletteHTTPException, _http_error_response)
    app.add_exception_handler(Exception, _unexpected_response)
