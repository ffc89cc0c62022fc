"""A real HTTP receiver for webhook tests, and helpers to make webhooks and send what is due.

The receiver is ``http.server`` on a free port in a thread: it records every request (headers
and the exact body bytes) and answers with the next status of its script (then 204), so a
test can make it fail a few times and recover.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook
from starlette.testclient import TestClient

from cloud.processes.webhook_sender import WebhookSender
from tests.cloud.accounts_support import Account


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    def signature_valid(self, secret: str) -> bool:
        """The signature is the package's for this id, timestamp and body (age not checked:
        the tests' clock is not the wall clock)."""
        sent_at = datetime.fromtimestamp(int(self.headers["webhook-timestamp"]), UTC)
        expected = Webhook(secret).sign(self.message_id, sent_at, self.body)
        return expected in self.headers["webhook-signature"].split(" ")


@dataclass
class Receiver:
    url: str
    script: list[int] = field(default_factory=list)
    """Statuses to answer, first to last; once used up every request gets 204."""
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Received) -> int:
        with self.lock:
            self.received.append(request)
            status = self.script.pop(0) if self.script else 204
        self.arrived.set()
        return status

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait (on real time: the sender runs in threads) until ``count`` requests arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    break
            time.sleep(0.02)
        with self.lock:
            return list(self.received)


@contextmanager
def receiver(*script: int) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 and a free port, at ``/hook``; shut down afterwards."""
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            status = box[0].answer(Received(self.path, headers, body))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", list(script)))
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def create_webhook(
    client: TestClient, staff: Account, url: str, events: list[str], site: str | None = None
) -> dict[str, Any]:
    response = client.post("/api/v1/webhooks", json={"url": url, "events": events, "site": site}, headers=staff.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def sender(client: TestClient) -> WebhookSender:
    """The app's webhook sender (tests call ``send_due`` on it, on their own clock)."""
    found: WebhookSender | None = client.app.state.cloud.webhooks  # type: ignore[attr-defined]
    assert found is not None
    return found


def deliveries(client: TestClient, staff: Account, webhook_id: int, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params=params, headers=staff.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page
