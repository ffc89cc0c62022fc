"""What a running app holds (``CloudState``) and the ``Annotated`` dependencies routes ask for.

Everything is built by ``create_app`` and kept on ``app.state.cloud``: nothing at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from fastapi.requests import HTTPConnection
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from cloud.accounts.session_cache import SessionCache
from cloud.dashboards.summary import SummaryBook
from cloud.machines.cache import ViewCache
from cloud.machines.service import RoomChoice
from cloud.realtime.hub import Hub
from cloud.rooms.busy_cache import BusyHoursCache
from cloud.settings import CloudSettings
from kywash.clock import Clock

if TYPE_CHECKING:
    from cloud.ingest.runner import Ingest
    from cloud.ingest.source import MqttSource
    from cloud.push.keys import VapidKey
    from cloud.push.send import PushSender
    from cloud.tx import Delivery


@dataclass
class CloudState:
    settings: CloudSettings
    engine: Engine
    clock: Clock
    hub: Hub
    registry: CollectorRegistry
    ingest: Ingest
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

    def delivery(self) -> Delivery:
        """Where committed changes go: the hub, and the broker while connected."""
        from cloud.tx import Delivery

        origin = self.settings.mqtt_client_id if self.settings.replica_fanout else None
        return Delivery(self.hub, self.source, origin, self.views, self.sessions, self.push, self.summaries)


async def get_state(connection: HTTPConnection) -> CloudState:
    state: CloudState = connection.app.state.cloud
    return state


StateDep = Annotated[CloudState, Depends(get_state)]


async def get_settings(state: StateDep) -> CloudSettings:
    return state.settings


SettingsDep = Annotated[CloudSettings, Depends(get_settings)]


async def get_room_choice(settings: SettingsDep, site: str | None = None, room: str | None = None) -> RoomChoice:
    """The ``?site=&room=`` query with the configured default room behind it."""
    return RoomChoice(site, room, settings.default_site, settings.default_room)


RoomChoiceDep = Annotated[RoomChoice, Depends(get_room_choice)]
