"""Alembic environment for mastra_store's own migrations (async engine, run through ``run_sync``).

Options, from ``config.attributes`` (programmatic use, see ``mastra_store.backends.sql.schema.alembic_config``)
or ``-x`` on the command line:

* ``schema``: target PostgreSQL schema (created when missing); default: the connection's default schema;
* ``skip_default_indexes``: ``true`` to create no default index.

The database is ``config.attributes["connection"]`` (a sync Connection handed over from
``AsyncConnection.run_sync``), else ``sqlalchemy.url``, else the ``DATABASE_URL`` environment variable.

Versions go to ``mastra_store_alembic_version`` in the target schema, never to a host app's
``alembic_version``. On PostgreSQL the whole run holds ``pg_advisory_lock`` on a key derived from the schema
name, so concurrent starters queue and then find the work done; on SQLite it runs in ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import AbstractContextManager, nullcontext
from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy.ext.asyncio import AsyncEngine

from mastra_store.backends.sql.engine import make_postgres_engine, make_sqlite_engine, postgres_url, sqlite_url
from mastra_store.backends.sql.schema import VERSION_TABLE, advisory_lock_key, include_object
from mastra_store.backends.sql.tables import TABLE_NAMES, build_tables, check_identifier

config = context.config
_TRUE = ("1", "true", "yes", "on")

if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)  # CLI only: leave host logging alone


def _options() -> tuple[str | None, bool]:
    """Resolve schema / skip_default_indexes once and store them where the revisions read them."""
    x = context.get_x_argument(as_dictionary=True)
    schema = x["schema"] or None if "schema" in x else config.attributes.get("schema")
    if schema is not None:
        check_identifier(schema, "schema name")
    skip = bool(config.attributes.get("skip_default_indexes")) or x.get("skip_default_indexes", "").lower() in _TRUE
    config.attributes["schema"] = schema
    config.attributes["skip_default_indexes"] = skip
    return schema, skip


def _configure(schema: str | None, skip: bool, dialect: str, **kw: Any) -> None:
    context.configure(
        target_metadata=build_tables(schema).metadata,
        version_table=VERSION_TABLE,
        version_table_schema=schema,
        render_as_batch=dialect == "sqlite",
        include_schemas=schema is not None,
        include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
        include_object=include_object(schema, dialect, skip),
        compare_type=True,
        **kw,
    )


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("no database: set DATABASE_URL (or sqlalchemy.url in alembic.ini)")
    return url


def _engine(url: str) -> AsyncEngine:
    if url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        pg_url, connect_args = postgres_url(url)
        return make_postgres_engine(pg_url, connect_args=connect_args, pool_size=1, max_overflow=0)
    return make_sqlite_engine(sqlite_url(url))


def run_on(connection: sa.Connection) -> None:
    """Run the migrations on ``connection`` (inside its transaction if it has one, else in a new one)."""
    schema, skip = _options()
    is_pg = connection.dialect.name == "postgresql"
    key = advisory_lock_key(schema)
    if is_pg:
        connection.execute(sa.select(sa.func.pg_advisory_lock(key)))
        connection.commit()  # the lock is session-level: it outlives this transaction
    elif not connection.in_transaction():
        connection.execution_options(sqlite_immediate=True)  # make_sqlite_engine's BEGIN IMMEDIATE
    try:
        txn: AbstractContextManager[Any] = nullcontext() if connection.in_transaction() else connection.begin()
        with txn:
            if is_pg and schema is not None:
                connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))  # validated identifier
            # A run that starts from nothing creates 1.27.1's fresh form (0003 reads this; see its docstring).
            have = set(sa.inspect(connection).get_table_names(schema=schema))
            config.attributes["fresh_database"] = not have & {*TABLE_NAMES, VERSION_TABLE}
            _configure(schema, skip, connection.dialect.name, connection=connection)
            context.run_migrations()  # Alembic defers to our transaction (it is already begun)
    finally:
        if is_pg:
            if connection.in_transaction():
                connection.rollback()
            connection.execute(sa.select(sa.func.pg_advisory_unlock(key)))
            connection.commit()


async def _run_async() -> None:
    engine = _engine(_url())
    try:
        async with engine.connect() as conn:
            await conn.run_sync(run_on)
    finally:
        await engine.dispose()


def run_offline() -> None:
    schema, skip = _options()
    config.attributes["fresh_database"] = True  # nothing to inspect: as 0001, assume an empty schema
    url = _url()
    dialect = "postgresql" if url.startswith(("postgres", "postgresql")) else "sqlite"
    _configure(schema, skip, dialect, url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (connection := config.attributes.get("connection")) is not None:
    run_on(connection)
else:
    asyncio.run(_run_async())
