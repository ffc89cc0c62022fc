"""``GET /api/health`` for load balancers and ``GET /metrics`` for Prometheus."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import kywash
from cloud.api.deps import StateDep
from cloud.api.metrics import scrape_registry

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: Literal["ok", "error"]
    database: Literal["ok", "error"]
    mqtt: Literal["connected", "disconnected", "disabled"]
    version: str


@router.get("/api/health", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def health(state: StateDep) -> JSONResponse:
    """``ok`` while the database answers (503 otherwise); MQTT is reported, not required,
    so a broker outage does not take every replica out of the load balancer."""
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database: Literal["ok", "error"] = "ok"
    except SQLAlchemyError:
        database = "error"
    if state.source is None:
        mqtt: Literal["connected", "disconnected", "disabled"] = (
            "disconnected" if state.settings.ingest_enabled else "disabled"
        )
    else:
        mqtt = "connected" if state.source.connected else "disconnected"
    body = HealthPublic(
        status="ok" if database == "ok" else "error", database=database, mqtt=mqtt, version=kywash.__version__
    )
    return JSONResponse(body.model_dump(), status_code=200 if database == "ok" else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(state: StateDep) -> Response:
    """Prometheus text: ingest, sequence gaps, WebSocket clients, request latency (README table)."""
    registry = scrape_registry(state.registry, state.engine, state.clock)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
