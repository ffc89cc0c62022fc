"""The ``Annotated`` dependencies routes ask for, and ``Runtime``: what of the running cloud
the HTTP interface may touch.

The container itself (``cloud.runtime.state.CloudState``) is built by the composition root
and kept on ``app.state.cloud``; this layer names only the parts it uses, so it never
imports the layer above it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Protocol

from fastapi import Depends, Query
from fastapi.requests import HTTPConnection
from prometheus_client import CollectorRegistry
from sqlalchemy import Connection, Engine

from cloud.domain.accounts.session_cache import SessionCache
from cloud.domain.machines.cache import ViewCache
from cloud.domain.machines.views import RoomChoice
from cloud.domain.push.keys import VapidKey
from cloud.domain.rooms.busy_cache import BusyHoursCache
from cloud.platform.hub import Hub
from cloud.platform.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from cloud.platform.settings import CloudSettings
from cloud.platform.unit_of_work import Transactions, Tx, committed_or_refused
from kywash.clock import Clock


class BrokerLink(Protocol):
    @property
    def connected(self) -> bool: ...


class Runtime(Protocol):
    """The running cloud as routes see it."""

    settings: CloudSettings
    engine: Engine
    clock: Clock
    hub: Hub
    registry: CollectorRegistry
    transactions: Transactions
    views: ViewCache
    sessions: SessionCache
    busy_hours: BusyHoursCache
    push_key: VapidKey | None

    @property
    def source(self) -> BrokerLink | None:
        """The MQTT connection, while ingest runs."""
        ...


async def get_state(connection: HTTPConnection) -> Runtime:
    state: Runtime = connection.app.state.cloud
    return state


StateDep = Annotated[Runtime, Depends(get_state)]


async def get_settings(state: StateDep) -> CloudSettings:
    return state.settings


SettingsDep = Annotated[CloudSettings, Depends(get_settings)]


async def get_room_choice(settings: SettingsDep, site: str | None = None, room: str | None = None) -> RoomChoice:
    """The ``?site=&room=`` query with the configured default room behind it."""
    return RoomChoice(site, room, settings.default_site, settings.default_room)


RoomChoiceDep = Annotated[RoomChoice, Depends(get_room_choice)]


def get_tx(state: StateDep) -> Iterator[Tx]:
    """The route's unit of work. Scoped to the route function (``TxDep``): it commits, and its
    live messages leave, before the response is built — a 2xx always means committed."""
    with committed_or_refused(), state.transactions.begin() as tx:
        yield tx


TxDep = Annotated[Tx, Depends(get_tx, scope="function")]


def read_conn(state: StateDep) -> Iterator[Connection]:
    """A read-only connection (SQLite: no write lock taken), for GET routes."""
    with state.transactions.read() as conn:
        yield conn


ReadConnDep = Annotated[Connection, Depends(read_conn)]


def page_request(
    before: Annotated[int | None, Query(ge=1, description="only items with a smaller id (older)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
) -> PageRequest:
    return PageRequest(before, limit)


PageDep = Annotated[PageRequest, Depends(page_request)]
