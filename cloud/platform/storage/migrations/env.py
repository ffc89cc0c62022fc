"""Alembic's environment: run migrations on the connection the service hands over.

``upgrade_database`` passes a live connection in ``config.attributes["connection"]``; by
hand, ``-x url=...`` names the database. Logging is left alone (no ``fileConfig``), so a
service that migrates at start keeps its own log configuration.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cloud.platform.storage.engine import make_engine
from cloud.platform.storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("pass the database with: alembic -x url=sqlite:///./data/kywash.db ...")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported; run against a database")
run_migrations_online()
