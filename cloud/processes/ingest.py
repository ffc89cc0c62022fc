"""Ingest: take raw MQTT messages in order, validate, apply them in batches, tell clients.

Database work runs on one dedicated thread, so a room's messages are applied in the order
the broker delivered them and the event loop never blocks on the database. What has
queued up while a transaction ran (up to ``ingest_batch_max``) is applied in the next
one, so under load the cost of a commit, of rendering each changed machine's view and
each room's summary, and of policy's once-per-room follow-ups is paid per batch rather
than per message; a lone message is applied at once, in a transaction of its own. The
broker hears each message acknowledged only once its batch has committed. A message that
fails takes nothing down with it: the batch is rolled back and applied again without it,
and it is retried alone, refused and counted. Every refusal is one WARNING line and a
counter; nothing stops the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from sqlalchemy.exc import OperationalError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from cloud.domain.alarms import machine_incidents, silence
from cloud.domain.alarms.rules import proves_edge_alive
from cloud.domain.dashboards.discovery import discovery_messages, machines_to_discover
from cloud.domain.dashboards.summary import SummaryBook
from cloud.domain.ingest.apply import Applied, apply_message
from cloud.domain.ingest.lookups import Lookups
from cloud.domain.ingest.profiles import restore_profiles
from cloud.domain.machines import views
from cloud.platform.errors import IngestRejected
from cloud.platform.hub import Audience
from cloud.platform.unit_of_work import Transactions, Tx
from cloud.policy.dashboard_commands import apply_command
from cloud.policy.machine_moved import react
from cloud.processes.dashboards import publish_discovery, publish_pending_summaries
from cloud.processes.delivery import BrokerPublisher
from cloud.processes.freshness import FreshnessTells
from cloud.processes.ingest_metrics import IngestMetrics
from cloud.processes.live_messages import room_message
from kywash.contract import (
    COMMAND_LEAF,
    ContractError,
    MachineCommand,
    Payload,
    Telemetry,
    TopicRef,
    decode_message,
)

log = logging.getLogger(__name__)

RETRY_DELAYS_S: Final = (0.2, 1.0, 3.0)
"""How long to wait before retrying a message when the database is briefly unreachable."""


class Ingest:
    """Applies messages from any async source of ``(topic, payload)`` (``MqttSource`` in service)."""

    def __init__(
        self,
        transactions: Transactions,
        metrics: IngestMetrics,
        broker: Callable[[], BrokerPublisher | None] = lambda: None,
        summaries: SummaryBook | None = None,
    ) -> None:
        self.transactions = transactions
        self.metrics = metrics
        self.settings = settings = transactions.settings
        self.broker = broker
        """The broker connection, while there is one (bulk Home Assistant discovery goes to it)."""
        self.summaries = summaries
        """Rooms' summaries that wait their turn (``SummaryBook``) are flushed while ``run`` runs."""
        self.auto_register = settings.auto_register_rooms
        self.retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S
        self.ha_status_topic = f"{settings.ha_discovery_prefix}/status" if settings.ha_discovery else None
        self._executor: ThreadPoolExecutor | None = None
        self.freshness = FreshnessTells()

    async def run(self, source: AsyncIterable[tuple[str, bytes]]) -> None:
        """Apply every message the source yields, until it ends: each with what queued behind it."""
        ready: Callable[[int], list[tuple[str, bytes]]] | None = getattr(source, "ready", None)
        processed: Callable[[], None] | None = getattr(source, "processed", None)
        forget: Callable[[], None] | None = getattr(source, "forget", None)
        flusher = asyncio.create_task(self._flush_summaries(), name="kywash-summaries")
        try:
            await self._run(source, ready, processed, forget)
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher

    async def _run(
        self,
        source: AsyncIterable[tuple[str, bytes]],
        ready: Callable[[int], list[tuple[str, bytes]]] | None,
        processed: Callable[[], None] | None,
        forget: Callable[[], None] | None,
    ) -> None:
        async for topic, payload in source:
            batch = [(topic, payload)]
            if ready is not None and self.settings.ingest_batch_max > 1:
                batch += ready(self.settings.ingest_batch_max - 1)
            try:
                await self.handle_batch(batch)
            except OperationalError:
                # The database stayed away through every retry: leave the batch unacknowledged,
                # so a broker keeping our session sends it again when we reconnect.
                if forget is not None:
                    forget()
                continue
            except Exception:  # a bug must not stop ingest: log it, count it, take the next messages
                log.exception("ingest failed on a batch of %d from %s", len(batch), topic[:200])
                self.metrics.count_rejected("error", len(batch))
            if processed is not None:
                processed()  # committed, or refused for good: the broker may forget them now

    async def handle(self, topic: str, payload: bytes) -> Applied | None:
        """Apply one message; None when it was refused (logged and counted) or was a clearing."""
        return (await self.handle_batch([(topic, payload)]))[0]

    async def handle_batch(self, received: Sequence[tuple[str, bytes]]) -> list[Applied | None]:
        """Apply messages in order, those that decode in one transaction; one outcome per message."""
        outcomes: list[Applied | None] = [None] * len(received)
        pending: list[tuple[int, str, TopicRef, Payload]] = []
        for index, (topic, payload) in enumerate(received):
            if topic == self.ha_status_topic:  # not for the database: keep the order around it
                await self._apply_pending(pending, outcomes)
                await self._home_assistant(payload)
            elif decoded := self._decode(topic, payload):
                pending.append((index, topic, *decoded))
        await self._apply_pending(pending, outcomes)
        return outcomes

    def _decode(self, topic: str, payload: bytes) -> tuple[TopicRef, Payload] | None:
        if not payload:  # an empty retained message deletes the retained one: nothing to apply
            self.metrics.count_accepted("cleared")
            log.debug("retained message cleared on %s", topic[:200])
            return None
        try:
            return decode_message(topic, payload)
        except ContractError as exc:
            command = "/machine/" in topic and f"/{COMMAND_LEAF}/" in topic
            self._reject(topic, "bad_command" if command else exc.reason, str(exc))
            return None

    async def _apply_pending(
        self, pending: list[tuple[int, str, TopicRef, Payload]], outcomes: list[Applied | None]
    ) -> None:
        if not pending:
            return
        superseded = _superseded_telemetry(pending)
        kept = [item for n, item in enumerate(pending) if n not in superseded]
        pending.clear()
        items = [(ref, message) for _, _, ref, message in kept]
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._db_thread(), self._apply, items)
        except OperationalError:
            log.exception("database unavailable; %d message(s) from %s not applied", len(items), kept[0][1][:200])
            self.metrics.count_rejected("database_unavailable", len(items))
            raise
        self.metrics.count_batch(len(items))
        for _ in superseded:
            self.metrics.count_accepted("telemetry_coalesced")
        for (index, topic, _, _), result in zip(kept, results, strict=True):
            if isinstance(result, IngestRejected):
                self._reject(topic, result.reason, str(result))
            elif isinstance(result, Exception):
                log.error("ingest failed on %s; going on with the next message", topic[:200], exc_info=result)
                self.metrics.count_rejected("error")
            else:
                outcomes[index] = result
                self.metrics.count_accepted(result.kind)
                if result.seq_reset:
                    self.metrics.count_seq_reset()

    async def _flush_summaries(self) -> None:
        """Publish the summaries that waited (on the database thread, in turn with the batches, so
        a summary read here never overtakes a newer one published after a commit)."""
        book = self.summaries
        if book is None or book.every_s <= 0:
            return
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(book.every_s / 2)
            broker = self.broker()
            if broker is None or not book.has_pending:
                continue
            try:
                engine, clock = self.transactions.engine, self.transactions.clock
                await loop.run_in_executor(self._db_thread(), publish_pending_summaries, engine, broker, book, clock)
            except Exception:  # the next round tries again; ingest goes on regardless
                log.exception("could not publish the rooms' pending summaries")

    async def _home_assistant(self, payload: bytes) -> Applied | None:
        """Home Assistant's birth message: (re)publish every machine's discovery configs."""
        self.metrics.count_accepted("homeassistant")
        if payload.strip().lower() != b"online":
            return None  # its last will (offline): nothing to do
        broker = self.broker()
        if broker is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(
                self._db_thread(), publish_discovery, self.transactions.engine, broker, self.settings
            )
        return None

    def close(self) -> None:
        """Finish the message being applied, then stop the database thread (a later message starts
        a new one, so an app can run its lifespan again)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def _db_thread(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kywash-ingest-db")
        return self._executor

    def _reject(self, topic: str, reason: str, message: str) -> None:
        log.warning("ingest rejected %s: %s: %s", topic[:200], reason, message[:300])
        self.metrics.count_rejected(reason)

    def _apply(self, items: list[tuple[TopicRef, Payload]]) -> list[Applied | Exception]:
        """Apply ``items`` (retried while the database is briefly unreachable); live clients hear
        once each transaction commits."""
        delays = self.retry_delays_s
        retrying = Retrying(
            retry=retry_if_exception_type(OperationalError),
            stop=stop_after_attempt(len(delays) + 1),
            wait=lambda state: delays[min(state.attempt_number, len(delays)) - 1] if delays else 0.0,
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(self._apply_batch, items)

    def _apply_batch(self, items: list[tuple[TopicRef, Payload]]) -> list[Applied | Exception]:
        """All of ``items`` in one transaction. When one fails, the transaction is rolled back and
        applied again without it (those before it, then those after), and it is tried alone."""
        if len(items) <= 1:
            return [self._apply_alone(ref, message) for ref, message in items]
        failed_at: int | None = None
        try:
            with self.transactions.begin() as tx:
                lookups = Lookups()
                applied: list[Applied | Exception] = []
                for failed_at, (ref, message) in enumerate(items):  # noqa: B007 (read after an error)
                    applied.append(self._apply_in(tx, lookups, ref, message))
                failed_at = None
                lookups.touch_rooms(tx.conn, tx.now)
            return applied
        except OperationalError:
            raise
        except Exception as exc:
            if failed_at is None:  # the batch's own follow-ups failed: take each message alone
                log.warning("a batch of %d failed after its messages (%s); applying each alone", len(items), exc)
                return [self._apply_alone(ref, message) for ref, message in items]
            before, after = items[:failed_at], items[failed_at + 1 :]
            return [*self._apply_batch(before), self._apply_alone(*items[failed_at]), *self._apply_batch(after)]

    def _apply_alone(self, ref: TopicRef, message: Payload) -> Applied | Exception:
        try:
            with self.transactions.begin() as tx:
                lookups = Lookups()
                applied = self._apply_in(tx, lookups, ref, message)
                lookups.touch_rooms(tx.conn, tx.now)
                return applied
        except OperationalError:
            raise
        except Exception as exc:  # IngestRejected, or a bug: the caller logs and counts it
            return exc

    def _apply_in(self, tx: Tx, lookups: Lookups, ref: TopicRef, message: Payload) -> Applied:
        """One message with policy's reactions, inside the batch's transaction."""
        if isinstance(message, MachineCommand):
            lookups.forget()  # staff commands change machines (service, desired state) wholesale
            room_id, _ = apply_command(tx, ref, message)
            return Applied("cmd", room_id)
        applied = apply_message(tx.conn, ref, message, tx.now, auto_register=self.auto_register, lookups=lookups)
        react(tx, applied)
        note_changes(tx, applied)
        if applied.room_id is not None and proves_edge_alive(message, came_online=applied.came_online):
            # the room's silence alarm, if one is open, clears (looked for once per room and batch)
            tx.once(("room_heard", applied.room_id), functools.partial(silence.room_heard, tx, applied.room_id))
        for machine_pk in self.freshness.due(applied, tx.now):  # its "updated … ago" stays true
            tx.changes.machine(machine_pk)
        if applied.kind == "info" and applied.room_id is not None:
            announce_discovery(tx, applied.room_id)
            machine_incidents.machines_removed(tx, applied.room_id)
        if applied.came_online and applied.room_id is not None:
            restore_profiles(tx, applied.room_id)
        return applied


def _superseded_telemetry(pending: Sequence[tuple[int, str, TopicRef, Payload]]) -> set[int]:
    """Positions of telemetry that a later telemetry of the same machine in the batch replaces:
    only the latest current is worth storing."""
    latest: dict[tuple[str, str, str], int] = {}
    for position, (_, _, ref, message) in enumerate(pending):
        if isinstance(message, Telemetry):
            latest[(ref.site, ref.room, message.machine)] = position
    kept = set(latest.values())
    return {n for n, (_, _, _, message) in enumerate(pending) if isinstance(message, Telemetry) and n not in kept}


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    delay = state.next_action.sleep if state.next_action is not None else 0.0
    log.warning("database unavailable (%s); retrying in %.1f s", getattr(error, "orig", error), delay)


def note_changes(tx: Tx, applied: Applied) -> None:
    """What live clients must hear after ``applied``: the room (if it changed), then machines."""
    if applied.room_id is None:
        return
    if applied.room_changed:
        room = views.room_view(tx.conn, applied.room_id)
        if room is not None:
            tx.changes.room(room_message(room), Audience.of_room(room.site, room.room))
        for view in views.views_of(tx.conn, room_ids=[applied.room_id]):
            tx.changes.machine(view.pk)
    for transition in applied.transitions:
        tx.changes.machine(transition.machine_pk)
    for machine_pk in applied.touched:
        tx.changes.machine(machine_pk)


def announce_discovery(tx: Tx, room_id: int) -> None:
    """A room registered (or its edge restarted): its machines' Home Assistant discovery."""
    settings = tx.settings
    if not settings.ha_discovery:
        return
    found = machines_to_discover(tx.conn, [room_id])
    for topic, payload in discovery_messages(
        found, prefix=settings.ha_discovery_prefix, command_user=settings.ha_command_user
    ):
        tx.changes.publish(topic, payload, retain=True)
