"""One unit of work: a database transaction plus what must happen once it commits.

Domain code never talks to WebSocket clients or the broker directly. It records in
``Changes`` which machines changed and which messages are due (to a room, a user, staff,
or the broker as retained desired state). At the end of the transaction a ``Delivery``
renders them (machine views are read inside the transaction, so they match what commits)
and, only once the commit has succeeded, sends them — so nobody hears of a change that was
rolled back. Nothing here knows FastAPI, the hub's clients or the broker: the delivery is
passed in (``cloud.processes.delivery.LiveDelivery`` in service, ``NO_DELIVERY`` for the CLI).

Live messages carry whole objects (a machine's full view), so a page keeps the last one it
hears of each machine: they must leave in the order their views were read. Transactions run
on several threads at once (ingest, the timers, the routes), so rendering, committing and
sending are done under one lock per running cloud (``Transactions.delivery_order``): without
it, a view read before another transaction's commit (a machine still "finished", say) could
be sent after that transaction's newer one (the machine free and held for the head of the
waitlist), and the page would show the stale view until the machine next changed (issue 15).
The lock is taken only once the transaction's own work is done, and what it covers never
waits for another transaction: reads, the commit, and sends that only queue.

Routes get a ``Tx`` from ``cloud.api.deps.TxDep``, scoped to the route function so the
commit (and its live messages) happens before the response is built; ingest, the timers
and the CLI use ``Transactions.run``. A commit that fails answers ``TryAgain`` (nothing of
it happened) or, for a constraint the database enforced, ``Conflict`` — never success.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from cloud.platform.errors import Conflict, TryAgain
from cloud.platform.hub import Audience, Message
from cloud.platform.settings import CloudSettings
from cloud.platform.texts import text
from kywash.clock import Clock, to_datetime

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_AFTER_S = 1
"""What a client is told to wait before sending a write that did not commit again."""


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
    """Web pushes (user id, payload) for the users' browsers, sent by worker threads."""
    webhooks: int = 0
    """Webhook deliveries queued in this transaction: the sender is woken once it commits."""

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


@dataclass
class Tx:
    """Everything a domain operation needs: the connection, the time, settings, the changes."""

    conn: Connection
    now: datetime
    settings: CloudSettings
    changes: Changes = field(default_factory=Changes)
    deferred: dict[Hashable, Callable[[], object]] = field(default_factory=dict)
    """Work done once, just before the commit, however often it was asked for (see ``once``)."""
    memo: dict[Hashable, Any] = field(default_factory=dict)
    """Values read once per transaction and reused by its later steps (the webhooks a batch of
    ingested events is matched against, say), so a batch does not repeat the same query."""

    def once(self, key: Hashable, work: Callable[[], object]) -> None:
        """Do ``work`` at the end of the transaction, once per ``key``: idempotent follow-ups a
        batch of ingested messages would otherwise repeat per message (a room's ``last_seen``,
        offering a room's free machines to its waitlist) are done once, after all of them."""
        self.deferred.setdefault(key, work)

    def finish(self) -> None:
        """Run the deferred work (which may defer more), in the order it was first asked for."""
        while self.deferred:
            key = next(iter(self.deferred))
            self.deferred.pop(key)()


class Delivery(Protocol):
    """Where a transaction's changes go."""

    def prepare(self, conn: Connection, changes: Changes, now: datetime) -> Callable[[], None]:
        """Render ``changes`` inside the transaction; the returned call sends them after commit."""
        ...


class _NoDelivery:
    """Changes go nowhere (the CLI, and code that runs before the app has outlets)."""

    def prepare(self, conn: Connection, changes: Changes, now: datetime) -> Callable[[], None]:
        return _nothing


def _nothing() -> None:
    return None


NO_DELIVERY: Delivery = _NoDelivery()


@contextmanager
def transaction(
    engine: Engine,
    clock: Clock,
    settings: CloudSettings,
    delivery: Delivery,
    *,
    now: datetime | None = None,
    order: AbstractContextManager[object] | None = None,
) -> Iterator[Tx]:
    """A ``Tx`` committed on success (then its changes are delivered), rolled back on error.

    ``order`` (a lock shared by every transaction of this process) is held from rendering the
    changes to sending them, so live messages leave in the order their views were read."""
    with ExitStack() as sending:
        with engine.begin() as conn:
            tx = Tx(conn, now or to_datetime(clock.now()), settings)
            yield tx
            tx.finish()
            if _renders(tx.changes):
                sending.enter_context(order or nullcontext())
            send = delivery.prepare(conn, tx.changes, tx.now)
        send()


def _renders(changes: Changes) -> bool:
    """Whether delivering ``changes`` reads views (machines, or the summary of a room a message is for)."""
    return bool(changes.machines or changes.rooms or changes.messages)


@contextmanager
def committed_or_refused() -> Iterator[None]:
    """Turn a transaction that could not begin or commit into the error its caller answers:
    ``Conflict`` for a constraint the database enforced, ``TryAgain`` when it was busy or away."""
    try:
        yield
    except IntegrityError as exc:
        log.info("write refused by a database constraint: %s", exc.orig)
        raise Conflict(text("error.write.clash")) from exc
    except DBAPIError as exc:
        if not isinstance(exc, OperationalError) and not exc.connection_invalidated:
            raise  # a bug (a bad statement), not the database being busy or away: a 500 with an incident id
        log.warning("write not committed (%s): answered try_again", type(exc.orig).__name__)
        raise TryAgain(text("error.write.try_again"), retry_after=RETRY_AFTER_S) from exc


@dataclass
class Transactions:
    """Opens units of work for one running cloud: its engine, clock, settings and outlets.

    ``delivery`` is asked for on each transaction, because the outlets change while the app
    runs (the broker connection comes and goes)."""

    engine: Engine
    clock: Clock
    settings: CloudSettings
    delivery: Callable[[], Delivery] = lambda: NO_DELIVERY
    delivery_order: AbstractContextManager[Any] = field(default_factory=threading.RLock)
    """Held by each transaction from rendering its live messages until they are sent (see the
    module's docstring). Re-entrant, so a thread that holds it cannot lock itself out."""

    @contextmanager
    def begin(self, *, now: datetime | None = None) -> Iterator[Tx]:
        with transaction(
            self.engine, self.clock, self.settings, self.delivery(), now=now, order=self.delivery_order
        ) as tx:
            yield tx

    def run(self, work: Callable[[Tx], T], *, now: datetime | None = None) -> T:
        """Run ``work`` in its own transaction (for ingest, the timers and the CLI)."""
        with self.begin(now=now) as tx:
            return work(tx)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only connection (SQLite: no write lock taken)."""
        with self.engine.connect().execution_options(kywash_readonly=True) as conn:
            yield conn

    def now(self) -> datetime:
        return to_datetime(self.clock.now())
