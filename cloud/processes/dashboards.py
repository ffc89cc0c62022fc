"""Publishing the dashboards' retained picture in bulk: on cloud start and when Home Assistant
(re)starts. Runs on a worker thread (it reads the database); messages go to the broker
connection, which queues QoS 1 messages while it is still connecting."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from cloud.domain.dashboards.discovery import discovery_messages, machines_to_discover
from cloud.domain.dashboards.summary import SummaryBook, all_summaries, summaries_for
from cloud.platform.settings import CloudSettings
from cloud.processes.delivery import BrokerPublisher
from kywash.clock import Clock, to_datetime

log = logging.getLogger(__name__)


def publish_discovery(
    engine: Engine, broker: BrokerPublisher, settings: CloudSettings, room_ids: list[int] | None = None
) -> int:
    """Every machine's Home Assistant discovery configs (of ``room_ids``; None: all); how many."""
    if not settings.ha_discovery:
        return 0
    with engine.connect() as conn:
        found = machines_to_discover(conn, room_ids)
    messages = discovery_messages(found, prefix=settings.ha_discovery_prefix, command_user=settings.ha_command_user)
    for topic, payload in messages:
        broker.publish(topic, payload, retain=True)
    log.info("published Home Assistant discovery for %d machines", len(found))
    return len(messages)


def publish_summaries(engine: Engine, broker: BrokerPublisher, book: SummaryBook, clock: Clock) -> int:
    """Every room's summary, whatever was published before (a restarted cloud, a wiped broker)."""
    book.forget()
    with engine.connect() as conn:
        summaries = all_summaries(conn, to_datetime(clock.now()))
    for summary in summaries:
        if book.claim(summary):
            broker.publish(summary.topic, summary.payload, retain=True)
    return len(summaries)


def publish_pending_summaries(engine: Engine, broker: BrokerPublisher, book: SummaryBook, clock: Clock) -> int:
    """The summaries of rooms that changed while their last one was too recent (``SummaryBook``)."""
    rooms = book.take_pending()
    if not rooms:
        return 0
    with engine.connect() as conn:
        summaries = summaries_for(conn, rooms, to_datetime(clock.now()))
    published = 0
    for summary in summaries:
        if book.claim(summary):
            broker.publish(summary.topic, summary.payload, retain=True)
            published += 1
    return published


def publish_on_start(
    engine: Engine, broker: BrokerPublisher, book: SummaryBook, clock: Clock, settings: CloudSettings
) -> None:
    """On cloud start: every room's summary and (when on) Home Assistant discovery."""
    try:
        publish_summaries(engine, broker, book, clock)
        publish_discovery(engine, broker, settings)
    except Exception:  # dashboards must never keep the service from starting
        log.exception("could not publish the dashboards' summaries and discovery on start")
