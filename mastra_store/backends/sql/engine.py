"""Engine construction for PostgreSQL (asyncpg) and SQLite (aiosqlite).

Accepts the URLs Mastra users already have (``postgresql://``, ``postgres://``, ``?sslmode=``, libsql-style
``file:./local.db``) as well as SQLAlchemy's own forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from ... import _json

__all__ = ("make_postgres_engine", "make_sqlite_engine", "postgres_url", "sqlite_url")

_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def postgres_url(
    connection_string: str | None = None,
    *,
    host: str | None = None,
    port: int = 5432,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
) -> tuple[URL, dict[str, Any]]:
    """Normalise to a ``postgresql+asyncpg`` URL; ``sslmode`` moves into asyncpg's ``ssl`` connect arg."""
    connect_args: dict[str, Any] = {}
    if connection_string is not None:
        url = make_url(connection_string)
        if url.drivername in ("postgres", "postgresql", "postgresql+asyncpg"):
            url = url.set(drivername="postgresql+asyncpg")
        else:
            raise ValueError(f"not a PostgreSQL URL: {url.drivername}://…")
        query = dict(url.query)
        mode = query.pop("sslmode", None)
        if mode is not None:
            if mode not in _SSLMODES:
                raise ValueError(f"unknown sslmode {mode!r}")
            connect_args["ssl"] = mode
        url = url.set(query=query)
    else:
        url = URL.create(
            "postgresql+asyncpg", username=user, password=password, host=host, port=port, database=database
        )
    return url, connect_args


def make_postgres_engine(
    url: URL,
    *,
    connect_args: dict[str, Any] | None = None,
    ssl: Any = None,
    pool_size: int = 10,
    max_overflow: int = 0,
    pool_timeout: float = 30.0,
    pool_recycle: int = -1,
    pool_pre_ping: bool = False,
    statement_cache_size: int | None = None,
    echo: bool = False,
) -> AsyncEngine:
    args = dict(connect_args or {})
    if ssl is not None:
        args["ssl"] = ssl
    if statement_cache_size is not None:  # 0 for PgBouncer in transaction mode
        args["statement_cache_size"] = statement_cache_size
        args["prepared_statement_cache_size"] = statement_cache_size
    return create_async_engine(
        url,
        connect_args=args,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=pool_recycle,
        pool_pre_ping=pool_pre_ping,
        json_serializer=_json.dumps,
        json_deserializer=orjson.loads,
        echo=echo,
    )


def sqlite_url(url: str | None = None, *, path: str | Path | None = None) -> URL:
    """``file:./local.db``, ``sqlite:///x.db``, ``sqlite+aiosqlite:///x.db``, ``:memory:`` or a path."""
    if path is not None:
        return URL.create("sqlite+aiosqlite", database=str(path))
    if url is None or url in (":memory:", "file::memory:"):
        return URL.create("sqlite+aiosqlite", database=":memory:")
    if url.startswith("file:"):
        return URL.create("sqlite+aiosqlite", database=url[len("file:") :] or ":memory:")
    parsed = make_url(url)
    if parsed.drivername not in ("sqlite", "sqlite+aiosqlite"):
        raise ValueError(f"not a SQLite URL: {parsed.drivername}://…")
    return parsed.set(drivername="sqlite+aiosqlite")


def _sqlite_json_loads(value: Any) -> Any:
    # A JSON column has NUMERIC affinity in SQLite: a bare JSON number comes back as int/float, not text.
    return value if isinstance(value, int | float) else orjson.loads(value)


def make_sqlite_engine(url: URL, *, busy_timeout_ms: int = 10_000, echo: bool = False) -> AsyncEngine:
    """SQLite in WAL mode with a busy timeout; writes start with ``BEGIN IMMEDIATE``.

    pysqlite's own transaction handling defers BEGIN and never takes the write lock up front, so a
    read-modify-write could interleave with another writer; we switch it off and emit BEGIN ourselves.
    """
    memory = url.database in (None, "", ":memory:")
    kw: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = create_async_engine(
        url, json_serializer=_json.dumps, json_deserializer=_sqlite_json_loads, echo=echo, **kw
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # autocommit at the driver; SQLAlchemy emits BEGIN below
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers ask for the lock up front (see SqlDatabase.transaction); readers take a deferred BEGIN.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
