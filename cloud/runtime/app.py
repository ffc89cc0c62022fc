"""Build the cloud service: ``create_app(settings)`` wires the parts; the lifespan runs them.

Startup and shutdown happen in one place: migrate the database, connect to the broker and
start ingest; on the way out stop ingest, let WebSocket clients go and close the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from fastapi import FastAPI

import kywash
from cloud.api.deps import Runtime
from cloud.api.errors import install_error_handlers
from cloud.api.http_metrics import HttpMetrics, RequestMetrics
from cloud.api.metrics import SequenceGaps, new_registry
from cloud.api.routers.accounts import router as accounts_router
from cloud.api.routers.activity import router as activity_router
from cloud.api.routers.alarms import router as alarms_router
from cloud.api.routers.display import router as display_router
from cloud.api.routers.display_stream import router as display_stream_router
from cloud.api.routers.faults import router as faults_router
from cloud.api.routers.health import router as health_router
from cloud.api.routers.laundry import router as laundry_router
from cloud.api.routers.machines import router as machines_router
from cloud.api.routers.notifications import router as notifications_router
from cloud.api.routers.push import router as push_router
from cloud.api.routers.rooms import router as rooms_router
from cloud.api.routers.webhooks import router as webhooks_router
from cloud.api.routers.websocket import router as realtime_router
from cloud.api.web.docs import OPENAPI_URL
from cloud.api.web.router import install_web
from cloud.domain.dashboards.summary import SummaryBook
from cloud.domain.push.keys import load_or_create_key
from cloud.platform.hub import Hub
from cloud.platform.settings import DEFAULT_VAPID_SUBJECT, CloudSettings, load_settings
from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.migrate import upgrade_database
from cloud.platform.unit_of_work import Transactions
from cloud.processes.dashboards import publish_on_start
from cloud.processes.fanout import receiver
from cloud.processes.ingest import Ingest
from cloud.processes.ingest_metrics import IngestMetrics
from cloud.processes.mqtt_source import MqttSource
from cloud.processes.push_metrics import PushMetrics
from cloud.processes.push_sender import PushSender
from cloud.processes.timers import TimerLoop
from cloud.processes.webhook_metrics import WebhookMetrics, WebhookQueue
from cloud.processes.webhook_sender import WebhookSender
from cloud.runtime.state import CloudState
from kywash.clock import Clock, SystemClock

log = logging.getLogger(__name__)


ROUTERS: Final = (
    accounts_router,
    machines_router,
    laundry_router,
    faults_router,
    notifications_router,
    push_router,
    activity_router,
    rooms_router,
    alarms_router,
    webhooks_router,
    realtime_router,
    display_stream_router,
    health_router,
    display_router,  # before the web app's catch-alls
)
"""Every API router, in the order their routes are matched."""


def create_app(settings: CloudSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The FastAPI app; settings come from the environment when not given (and are checked now)."""
    settings = settings or load_settings()
    registry = new_registry()
    engine = make_engine(settings.database_url)
    hub = Hub(settings.websocket_queue_size)
    clock = clock or SystemClock()
    transactions = Transactions(engine, clock, settings, lambda: state.delivery())  # noqa: PLW0108 - state is bound below
    summaries = SummaryBook(settings.summary_every_s)
    ingest = Ingest(transactions, IngestMetrics(registry), lambda: state.source, summaries)
    state = CloudState(settings, engine, clock, hub, registry, ingest, transactions, summaries=summaries)
    push_metrics = PushMetrics(registry)
    registry.register(SequenceGaps(engine, clock))
    registry.register(WebhookQueue(engine, clock))
    state.webhooks = WebhookSender(engine, clock, settings, WebhookMetrics(registry))
    http_metrics = HttpMetrics(registry)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(upgrade_database, settings.database_url)
        if settings.web_push:
            await asyncio.to_thread(_start_push, state, push_metrics)
        task = await _start_ingest(state) if settings.ingest_enabled else None
        timers = TimerLoop(transactions, ingest.metrics)
        if settings.timer_loop:
            timers.start()
        if settings.webhook_sender and state.webhooks is not None:
            state.webhooks.start()
        try:
            yield
        finally:
            await timers.stop()
            if state.webhooks is not None:
                await asyncio.to_thread(state.webhooks.close)  # attempts in flight finish first
            await _stop(state, task)

    app = FastAPI(
        title="KY Wash",
        version=kywash.__version__,
        summary="Live washers and dryers of student laundry rooms",
        docs_url=None,  # served from the package by cloud.api.web.docs, not from a CDN
        redoc_url=None,
        openapi_url=OPENAPI_URL,
        lifespan=lifespan,
    )
    routes_see: Runtime = state  # mypy checks here that the container gives routes all they ask for
    app.state.cloud = routes_see
    app.add_middleware(RequestMetrics, metrics=http_metrics)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_web(app)
    return app


async def _start_ingest(state: CloudState) -> asyncio.Task[None]:
    source = MqttSource.from_settings(state.settings)
    if state.settings.replica_fanout:
        source.on_fanout = receiver(
            state.hub, state.settings.mqtt_client_id, state.views, state.ingest.metrics.count_rejected
        )
    state.source = await source.start()
    log.info("ingest subscribing to %s", state.settings.mqtt_url)
    await asyncio.to_thread(  # dashboards: summaries, Home Assistant discovery
        publish_on_start, state.engine, state.source, state.summaries, state.clock, state.settings
    )
    return asyncio.create_task(state.ingest.run(state.source), name="kywash-ingest")


def _start_push(state: CloudState, metrics: PushMetrics) -> None:
    """Load (or make, on first start) the VAPID key and start the web push workers."""
    settings = state.settings
    state.push_key = load_or_create_key(Path(settings.vapid_key_path))
    if settings.environment == "production" and settings.vapid_subject == DEFAULT_VAPID_SUBJECT:
        log.warning("KYWASH_VAPID_SUBJECT is the placeholder; push services may refuse pushes without a real contact")
    state.push = PushSender(state.engine, state.push_key, settings.vapid_subject, state.clock, metrics).start()


async def _stop(state: CloudState, task: asyncio.Task[None] | None) -> None:
    if state.source is not None:
        await state.source.close()  # ends the ingest loop after the messages already queued
    if task is not None:
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            log.warning("ingest did not drain in 10 s; stopping it")
    await asyncio.to_thread(state.ingest.close)
    if state.push is not None:
        await asyncio.to_thread(state.push.close)  # the pushes already queued go out first
        state.push = None
    state.source = None
    state.hub.close()
    state.engine.dispose()
