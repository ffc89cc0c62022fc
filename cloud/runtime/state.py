"""What a running cloud holds (``CloudState``): built by ``create_app``, kept on
``app.state.cloud``, nothing at import time.

This is the composition root's container. Nothing below it imports it: routes see it
through ``cloud.api.deps.Runtime`` (the part of it they may touch), and domain code gets
explicit collaborators (a unit of work, a connection, a clock, settings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from cloud.domain.accounts.session_cache import SessionCache
from cloud.domain.dashboards.summary import SummaryBook
from cloud.domain.machines.cache import ViewCache
from cloud.domain.push.keys import VapidKey
from cloud.domain.rooms.busy_cache import BusyHoursCache
from cloud.platform.hub import Hub
from cloud.platform.settings import CloudSettings
from cloud.platform.unit_of_work import Transactions
from cloud.processes.delivery import LiveDelivery
from cloud.processes.ingest import Ingest
from cloud.processes.mqtt_source import MqttSource
from cloud.processes.push_sender import PushSender
from cloud.processes.webhook_sender import WebhookSender
from kywash.clock import Clock


@dataclass
class CloudState:
    settings: CloudSettings
    engine: Engine
    clock: Clock
    hub: Hub
    registry: CollectorRegistry
    ingest: Ingest
    transactions: Transactions
    source: MqttSource | None = None
    """The MQTT connection, while the app runs with ingest enabled."""
    views: ViewCache = field(default_factory=ViewCache)
    sessions: SessionCache = field(default_factory=SessionCache)
    push_key: VapidKey | None = None
    """The VAPID key, once the app has started with web push on."""
    push: PushSender | None = None
    """The web push workers, while the app runs with web push on."""
    busy_hours: BusyHoursCache = field(default_factory=BusyHoursCache)
    summaries: SummaryBook = field(default_factory=SummaryBook)
    """What this process last published as each room's retained summary (by digest)."""
    webhooks: WebhookSender | None = None
    """The webhook sender (built by ``create_app``; its workers run while the app does with
    ``webhook_sender`` on, and tests call its ``send_due`` themselves)."""

    def delivery(self) -> LiveDelivery:
        """Where committed changes go: the hub, and the broker while connected."""
        origin = self.settings.mqtt_client_id if self.settings.replica_fanout else None
        return LiveDelivery(
            self.hub, self.source, origin, self.views, self.sessions, self.push, self.summaries, self.webhooks
        )
