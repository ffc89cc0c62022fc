"""The web app: ``/`` (the page), ``/sw.js`` (its service worker), ``/manifest.webmanifest``,
the API docs at ``/api/docs``, and the scripts, styles and icons under ``/static``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from cloud.api.web import STATIC_DIR
from cloud.api.web.docs import router as docs_router

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


@router.get("/manifest.webmanifest")
def manifest() -> FileResponse:
    """What a phone needs to install the app on its home screen."""
    return FileResponse(STATIC_DIR / "manifest.webmanifest", media_type="application/manifest+json", headers=NO_CACHE)


def install_web(app: FastAPI) -> None:
    """Serve the page at ``/``, its worker and manifest beside it, and its files at ``/static``."""
    app.include_router(router)
    app.include_router(docs_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
