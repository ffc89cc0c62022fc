"""One unit of work: a database transaction plus what must happen once it commits.

Domain code never talks to WebSocket clients or the broker directly. It records in
``Changes`` which machines changed and which messages are due (to a room, a user, staff,
or the broker as retained desired state); ``Tx`` renders machine views inside the
transaction, commits, and only then sends — so nobody hears of a change that was rolled
back. Requests get a ``Tx`` from ``TxDep``; ingest and the timer loop use ``run_tx``.

``TxDep`` is scoped to the route function (``Depends(scope="function")``): the transaction
commits, and its live messages leave, before the response is built and sent. With the
default request scope a 2xx left first, so an immediate read could miss the write, and a
commit that failed afterwards was a write lost after "done". A transaction that cannot
begin or commit answers ``TryAgain`` (503 with ``Retry-After``: nothing of it happened) or,
for a constraint the database enforced, ``Conflict`` (409) — never 2xx.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

from fastapi import Depends
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from cloud.accounts.session_cache import SessionCache
from cloud.deps import StateDep
from cloud.errors import Conflict, TryAgain
from cloud.machines.cache import ViewCache
from cloud.realtime.hub import Audience, Hub, Message
from cloud.settings import CloudSettings
from kywash.clock import Clock, to_datetime

if TYPE_CHECKING:
    from cloud.dashboards.summary import SummaryBook, SummaryOut
    from cloud.deps import CloudState

log = logging.getLogger(__name__)
T = TypeVar("T")

VIEW_CHANGES = frozenset({"machine", "room"})
"""Messages that mean the cached machine views are out of date."""


class BrokerPublisher(Protocol):
    """Whatever can publish to MQTT after a commit (the ingest's connection in service)."""

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None: ...


class PushQueue(Protocol):
    """Whatever sends web pushes without making the caller wait (``cloud.push.send.PushSender``)."""

    def submit(self, pushes: list[tuple[int, dict[str, Any]]]) -> None: ...


@dataclass
class Changes:
    """What live clients and the broker must hear once the transaction commits."""

    rooms: list[tuple[Message, Audience]] = field(default_factory=list)
    """Room messages: sent before the machine messages that follow from them."""
    machines: dict[int, None] = field(default_factory=dict)
    """Primary keys of machines whose shown view changed (ordered, deduplicated)."""
    messages: list[tuple[Message, Audience]] = field(default_factory=list)
    broker: list[tuple[str, bytes, bool]] = field(default_factory=list)
    ended_sessions: list[str] = field(default_factory=list)
    """Sessions revoked in this transaction: forgotten by this replica's session cache."""
    pushes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """Web pushes (user id, payload) for the users' browsers, sent by worker threads (cloud/push/)."""

    def room(self, message: Message, audience: Audience) -> None:
        self.rooms.append((message, audience))

    def machine(self, machine_pk: int) -> None:
        self.machines[machine_pk] = None

    def send(self, message: Message, audience: Audience) -> None:
        self.messages.append((message, audience))

    def end_session(self, session_id: str) -> None:
        self.ended_sessions.append(session_id)

    def publish(self, topic: str, payload: bytes, *, retain: bool = True) -> None:
        self.broker.append((topic, payload, retain))

    def push(self, user_id: int, payload: dict[str, Any]) -> None:
        self.pushes.append((user_id, payload))

    def render(self, conn: Connection) -> list[tuple[Message, Audience]]:
        """Machine messages (read inside the transaction) first, then the rest in order."""
        from cloud.machines.service import machine_messages  # the views depend on the domain tables

        rendered = machine_messages(conn, list(self.machines)) if self.machines else []
        return self.rooms + rendered + self.messages


@dataclass
class Tx:
    """Everything a domain operation needs: the connection, the time, settings, the changes."""

    conn: Connection
    now: datetime
    settings: CloudSettings
    changes: Changes = field(default_factory=Changes)


@dataclass
class Delivery:
    """Where committed changes go: this replica's clients, the broker, and (through the
    broker) the clients of every other replica."""

    hub: Hub
    broker: BrokerPublisher | None = None
    origin: str | None = None
    """This replica's id on the fan-out topic; None: a single replica, no fan-out."""
    cache: ViewCache | None = None
    sessions: SessionCache | None = None
    push: PushQueue | None = None
    """None: web push is off (or this process sends none, as the CLI)."""
    summaries: SummaryBook | None = None
    """Digests of the rooms' retained summaries (cloud/dashboards/); None: publish none."""

    @property
    def wants_summaries(self) -> bool:
        return self.summaries is not None and self.broker is not None

    def deliver(
        self,
        messages: list[tuple[Message, Audience]],
        broker: list[tuple[str, bytes, bool]],
        ended_sessions: list[str] | None = None,
        pushes: list[tuple[int, dict[str, Any]]] | None = None,
        summaries: list[SummaryOut] | None = None,
    ) -> None:
        if self.sessions is not None:
            for session_id in ended_sessions or ():
                self.sessions.forget(session_id)
        if ended_sessions:
            self.hub.end_sessions(ended_sessions)
        if self.cache is not None and any(message["type"] in VIEW_CHANGES for message, _ in messages):
            self.cache.clear()
        for message, audience in messages:
            self.hub.send(message, audience)
        if messages and self.broker is not None and self.origin is not None:
            from cloud.realtime.fanout import FANOUT_TOPIC, encode

            self.broker.publish(FANOUT_TOPIC, encode(self.origin, messages), retain=False)
        for topic, payload, retain in broker:
            if self.broker is None:
                log.info("not connected to MQTT: %s will be published when the service reconnects", topic)
                continue
            self.broker.publish(topic, payload, retain=retain)
        if self.broker is not None and self.summaries is not None:
            for summary in summaries or ():
                if self.summaries.claim(summary):  # only a summary that changed goes out
                    self.broker.publish(summary.topic, summary.payload, retain=True)
        if pushes and self.push is not None:
            self.push.submit(pushes)


@contextmanager
def transaction(
    engine: Engine, clock: Clock, settings: CloudSettings, delivery: Delivery, *, now: datetime | None = None
) -> Iterator[Tx]:
    """A ``Tx`` committed on success (then its changes are delivered), rolled back on error."""
    with engine.begin() as conn:
        tx = Tx(conn, now or to_datetime(clock.now()), settings)
        yield tx
        messages = tx.changes.render(conn)
        summaries = _summaries(conn, messages, tx.now) if delivery.wants_summaries else []
    delivery.deliver(messages, tx.changes.broker, tx.changes.ended_sessions, tx.changes.pushes, summaries)


def _summaries(conn: Connection, messages: list[tuple[Message, Audience]], now: datetime) -> list[SummaryOut]:
    """The retained summaries of the rooms this transaction touched, read before commit."""
    from cloud.dashboards.summary import summaries_for, touched_rooms

    rooms = touched_rooms(conn, messages)
    return summaries_for(conn, rooms, now) if rooms else []


def run_tx(state: CloudState, work: Callable[[Tx], T]) -> T:
    """Run ``work`` in its own transaction (for ingest, the timer loop and the CLI)."""
    with transaction(state.engine, state.clock, state.settings, state.delivery()) as tx:
        return work(tx)


RETRY_AFTER_S = 1
"""What a client is told to wait before sending a write that did not commit again."""


def get_tx(state: StateDep) -> Iterator[Tx]:
    try:
        with transaction(state.engine, state.clock, state.settings, state.delivery()) as tx:
            yield tx
    except IntegrityError as exc:
        log.info("write refused by a database constraint: %s", exc.orig)
        raise Conflict("that clashes with a change made at the same moment; reload and try again") from exc
    except DBAPIError as exc:
        if not isinstance(exc, OperationalError) and not exc.connection_invalidated:
            raise  # a bug (a bad statement), not the database being busy or away: a 500 with an incident id
        log.warning("write not committed (%s): answered try_again", type(exc.orig).__name__)
        raise TryAgain(
            "the change could not be saved just now (the database was busy); nothing was changed, please try again",
            retry_after=RETRY_AFTER_S,
        ) from exc


TxDep = Annotated[Tx, Depends(get_tx, scope="function")]


def read_conn(state: StateDep) -> Iterator[Connection]:
    """A read-only connection (SQLite: no write lock taken), for GET routes."""
    with state.engine.connect().execution_options(kywash_readonly=True) as conn:
        yield conn


ReadConnDep = Annotated[Connection, Depends(read_conn)]
