"""The database engine: one factory for SQLite (WAL) and PostgreSQL (psycopg 3), chosen by URL.

SQLite gets the settings a multi-threaded web service needs: WAL so readers never block
the ingest writer, foreign keys on, a busy timeout, ``check_same_thread=False`` (FastAPI
may run a dependency and its route on different threads), and real transactions — the
sqlite3 driver's legacy mode would otherwise run SELECTs, DDL and SAVEPOINTs outside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_S = 10.0
POOL_SIZE = 10
POOL_OVERFLOW = 40
"""Room for more connections than the web server has worker threads (40, Starlette's default)
plus ingest and the timer loop. With fewer, requests holding a connection while waiting for
a thread and requests holding a thread while waiting for a connection can stall each other."""


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://...``; nothing connects yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the driver (see SQLAlchemy's "sqlite_transactions").
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_sqlite_transaction(conn: Any) -> None:
    # A deferred transaction that reads and then writes can fail at once with "database is
    # locked" when another writer got in between (the busy timeout does not apply to that
    # upgrade). So every transaction takes the write lock up front, except the ones marked
    # ``kywash_readonly`` (plain reads, which WAL never blocks).
    readonly = conn.get_execution_options().get("kywash_readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
