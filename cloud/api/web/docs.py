"""``/api/docs``: Swagger UI served from the package, so the API docs need no network.

FastAPI's built-in page loads Swagger UI from a CDN; offline (a Pi in a basement, a
campus network without Internet, the demo on a train) that page stayed blank.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

DOCS_URL: Final = "/api/docs"
OPENAPI_URL: Final = "/api/openapi.json"
VENDOR: Final = "/static/vendor/swagger-ui"

router = APIRouter(include_in_schema=False)


@router.get(DOCS_URL)
def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="KY Wash API",
        swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui.css",
        swagger_favicon_url="/static/icons/icon-192.png",
    )
