"""The web app: ``/`` (the page), ``/sw.js`` (its service worker), ``/manifest.webmanifest``,
the API docs at ``/api/docs``, and the scripts, styles and icons under ``/static``."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Final

from fastapi import APIRouter, FastAPI, Header
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from cloud.api.web import STATIC_DIR
from cloud.api.web.docs import router as docs_router
from cloud.platform.languages import DEFAULT, from_accept_language

router = APIRouter(include_in_schema=False)

NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/")
def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=NO_CACHE)


@router.get("/sw.js")
def service_worker() -> FileResponse:
    """Served from the root, since a service worker only controls pages under its own path;
    ``no-cache`` so a new version reaches phones at their next visit."""
    headers = {**NO_CACHE, "Service-Worker-Allowed": "/"}
    return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript", headers=headers)


MANIFEST_TEXTS: Final = {"name": "install.name", "description": "install.description"}
"""The manifest's words, from the page's catalog (``static/i18n``) in the browser's language."""


@router.get("/manifest.webmanifest")
def manifest(accept_language: Annotated[str | None, Header()] = None) -> JSONResponse:
    """What a phone needs to install the app on its home screen, named in the phone's language."""
    body = json.loads((STATIC_DIR / "manifest.webmanifest").read_text(encoding="utf-8"))
    language = from_accept_language(accept_language) or DEFAULT
    catalog = _page_catalog(language)
    body |= {field: catalog[key] for field, key in MANIFEST_TEXTS.items()} | {"lang": language}
    headers = {**NO_CACHE, "Vary": "Accept-Language"}
    return JSONResponse(body, media_type="application/manifest+json", headers=headers)


@functools.cache
def _page_catalog(language: str) -> dict[str, str]:
    catalog: dict[str, str] = json.loads((STATIC_DIR / "i18n" / f"{language}.json").read_text(encoding="utf-8"))
    return catalog


def install_web(app: FastAPI) -> None:
    """Serve the page at ``/``, its worker and manifest beside it, and its files at ``/static``."""
    app.include_router(router)
    app.include_router(docs_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
