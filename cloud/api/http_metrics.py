"""Request latency and open WebSockets, measured by a small ASGI middleware around the whole app.

``kywash_http_request_duration_seconds{method,route,status}`` is a histogram per route
*template* (``/api/v1/machines/{kind}/{number}``, never the raw path, so a scanner cannot
mint new series): a request that matched no route is ``route="<unmatched>"``, an unusual
method is ``OTHER``, and ``status`` is the class (``2xx``, ``4xx``...).
``kywash_websocket_clients`` counts the WebSocket connections open now. The middleware is
kept cheap: one ``perf_counter`` pair and a dict lookup of the labelled child per request.
"""

from __future__ import annotations

import time
from typing import Final

from prometheus_client import CollectorRegistry, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED: Final = "<unmatched>"
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Any other method is counted as ``OTHER``: a client must not be able to mint label values."""
BUCKETS: Final = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""From a cached machine list (a few ms) to a fault report with a 5 MB photo (seconds)."""


class HttpMetrics:
    """The metrics themselves, made once per app (the middleware may be built more than once)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "kywash_http_request_duration_seconds",
            "HTTP request latency, by method, route template and status class",
            ["method", "route", "status"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.websockets = Gauge(
            "kywash_websocket_clients",
            "WebSocket connections open now",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.children: dict[tuple[str, str, str], Histogram] = {}


class RequestMetrics:
    """The ASGI middleware: ``app.add_middleware(RequestMetrics, metrics=HttpMetrics(registry))``."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            self.metrics.websockets.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                self.metrics.websockets.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app raises before starting a response

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or UNMATCHED
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        key = (method, template, f"{status // 100}xx")
        child = self.metrics.children.get(key)
        if child is None:
            child = self.metrics.children[key] = self.metrics.latency.labels(*key)
        child.observe(seconds)
