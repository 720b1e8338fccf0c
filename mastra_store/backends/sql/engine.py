"""Engine construction for PostgreSQL (asyncpg) and SQLite (aiosqlite).

Accepts the URLs Mastra users already have (``postgresql://``, ``postgres://``, ``?sslmode=``, libsql-style
``file:./local.db``) as well as SQLAlchemy's own forms.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from ... import _json

__all__ = (
    "CONNECT_OPTIONS",
    "ConnectOptionError",
    "PgConnector",
    "connect_options",
    "make_postgres_engine",
    "make_sqlite_engine",
    "postgres_url",
    "sqlite_url",
)

log = logging.getLogger("mastra_store.postgres")
sqlite_log = logging.getLogger("mastra_store.sqlite")

_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
#: Connection options accepted both as keywords (PostgresStore) and in the URL query (libpq's spelling).
CONNECT_OPTIONS = (
    "connect_timeout",
    "command_timeout",
    "statement_timeout",
    "application_name",
    "server_settings",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
)
#: Seconds to open one connection (TCP, TLS, authentication) before giving up; libpq waits forever, asyncpg 60 s.
DEFAULT_CONNECT_TIMEOUT = 10.0


class ConnectOptionError(ValueError):
    """A bad connection option; ``field`` names it (PostgresStore turns this into a USER MastraError)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field


def _seconds(field: str, value: Any, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConnectOptionError(field, f"must be a number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ConnectOptionError(field, f"must be a positive number of seconds, got {value!r}")
    return float(value)


def _settings(field: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConnectOptionError(field, "must be a dict of setting name to string value")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _SETTING_NAME.match(key):
            raise ConnectOptionError(field, f"has an invalid setting name {key!r}")
        if isinstance(item, bool) or not isinstance(item, str | int | float) or "\x00" in str(item):
            raise ConnectOptionError(field, f"value of {key!r} must be a string or number")
        out[key] = str(item)
    return out


_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


def _ssl_context(mode: str, rootcert: str | None, cert: str | None, key: str | None) -> ssl.SSLContext:
    """libpq's meaning of the modes when certificate files are named (asyncpg only reads them from a DSN)."""
    ctx = ssl.create_default_context(cafile=rootcert)
    if mode != "verify-full":
        ctx.check_hostname = False
        if mode != "verify-ca" and rootcert is None:
            ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def connect_options(given: Mapping[str, Any], *, ssl_arg: Any = None) -> dict[str, Any]:
    """asyncpg ``connect()`` keyword arguments from the connection options (URL query and keywords merged by the
    caller, keywords winning). Raises :class:`ConnectOptionError` naming the option."""
    given = dict(given)
    if "ssl" in given:  # the URL's sslmode, as postgres_url hands it over
        url_mode = given.pop("ssl")
        given.setdefault("sslmode", url_mode)
    unknown = sorted(set(given) - set(CONNECT_OPTIONS))
    if unknown:
        raise ConnectOptionError(unknown[0], "is not a supported connection option")
    out: dict[str, Any] = {"timeout": DEFAULT_CONNECT_TIMEOUT}
    if given.get("connect_timeout") is not None:
        out["timeout"] = _seconds("connect_timeout", given["connect_timeout"])
    if given.get("command_timeout") is not None:
        out["command_timeout"] = _seconds("command_timeout", given["command_timeout"])
    settings = _settings("server_settings", given["server_settings"]) if given.get("server_settings") else {}
    timeout_ms = given.get("statement_timeout")
    if timeout_ms is not None:
        if isinstance(timeout_ms, str) and timeout_ms.isdigit():
            timeout_ms = int(timeout_ms)
        if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or not 0 <= timeout_ms < 2**31:
            raise ConnectOptionError("statement_timeout", f"must be milliseconds as an int >= 0, got {timeout_ms!r}")
        settings["statement_timeout"] = str(timeout_ms)
    name = given.get("application_name")
    if name is not None:
        if not isinstance(name, str) or "\x00" in name or len(name.encode()) > 63:
            raise ConnectOptionError("application_name", "must be a string of at most 63 bytes without NUL")
        settings["application_name"] = name
    if settings:
        out["server_settings"] = settings
    mode = given.get("sslmode")
    if mode is not None and mode not in _SSLMODES:
        raise ConnectOptionError("sslmode", f"must be one of {sorted(_SSLMODES)}, got {mode!r}")
    files = {k: given.get(k) for k in ("sslrootcert", "sslcert", "sslkey")}
    for field, value in files.items():
        if value is not None and (not isinstance(value, str) or not value):
            raise ConnectOptionError(field, "must be a file path")
    if ssl_arg is not None:
        if isinstance(ssl_arg, str) and ssl_arg not in _SSLMODES:
            raise ConnectOptionError("ssl", f"must be a bool, an SSLContext or one of {sorted(_SSLMODES)}")
        if not isinstance(ssl_arg, bool | str | ssl.SSLContext):
            raise ConnectOptionError("ssl", "must be a bool, an SSLContext or an sslmode string")
        out["ssl"] = ssl_arg
    elif any(files.values()) and mode != "disable":
        try:
            out["ssl"] = _ssl_context(mode or "require", files["sslrootcert"], files["sslcert"], files["sslkey"])
        except (OSError, ssl.SSLError) as exc:
            raise ConnectOptionError("sslrootcert" if files["sslrootcert"] else "sslcert", str(exc)) from exc
    elif mode is not None:
        out["ssl"] = mode
    return out


def postgres_url(
    connection_string: str | None = None,
    *,
    host: str | None = None,
    port: int = 5432,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
) -> tuple[URL, dict[str, Any]]:
    """Normalise to a ``postgresql+asyncpg`` URL; the connection options of the query string (``sslmode``,
    ``connect_timeout``, …; see :data:`CONNECT_OPTIONS`) come back apart, as given, for :func:`connect_options`."""
    options: dict[str, Any] = {}
    if connection_string is not None:
        url = make_url(connection_string)
        if url.drivername in ("postgres", "postgresql", "postgresql+asyncpg"):
            url = url.set(drivername="postgresql+asyncpg")
        else:
            raise ValueError(f"not a PostgreSQL URL: {url.drivername}://…")
        query = dict(url.query)
        for name in CONNECT_OPTIONS:
            if name in query and name != "server_settings":
                value = query.pop(name)
                options[name] = value[-1] if isinstance(value, tuple) else value
        if query:
            raise ConnectOptionError(sorted(query)[0], "is not a supported URL parameter")
        if "sslmode" in options:  # asyncpg's name for it; a keyword ``ssl=`` still wins
            options["ssl"] = options.pop("sslmode")
        url = url.set(query={})
    else:
        url = URL.create(
            "postgresql+asyncpg", username=user, password=password, host=host, port=port, database=database
        )
    return url, options


def asyncpg_target(url: URL) -> dict[str, Any]:
    """Where to connect, as asyncpg's keyword arguments."""
    target = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "database": url.database,
    }
    return {k: v for k, v in target.items() if v is not None}


class PgConnector:
    """Opens raw asyncpg connections for both the fast path and SQLAlchemy's engine (``async_creator``), so the
    two always agree on server, timeouts, settings and TLS.

    A connect that outlives ``connect_timeout`` raises ``TimeoutError`` saying so (asyncpg's is empty). Once a
    connection has succeeded, a refused connect (a restarting server: ``ConnectionRefusedError``, 57P03 "the
    database system is starting up") is retried with a short backoff until ``connect_timeout`` has passed, so a
    restart costs callers a wait, not an error; the very first connect fails at once.
    """

    def __init__(self, url: URL, options: Mapping[str, Any], *, statement_cache_size: int | None = None) -> None:
        self.url = url
        self.kwargs: dict[str, Any] = {**asyncpg_target(url), **options}
        if statement_cache_size is not None:  # 0 for PgBouncer in transaction mode
            self.kwargs["statement_cache_size"] = statement_cache_size
        self.connect_timeout = float(self.kwargs.pop("timeout", DEFAULT_CONNECT_TIMEOUT))
        self.where = f"{url.host or 'localhost'}:{url.port or 5432}"
        self.ever_connected = False

    def for_ddl(self) -> PgConnector:
        """The same server, name, settings and TLS without ``command_timeout`` / ``statement_timeout``: they bound
        data statements; a migration step or an index build may rightly run longer (a 0.5 s command timeout made
        ``init()`` fail on a busy machine)."""
        ddl = copy.copy(self)
        ddl.kwargs = {k: v for k, v in self.kwargs.items() if k != "command_timeout"}
        settings = {k: v for k, v in (self.kwargs.get("server_settings") or {}).items() if k != "statement_timeout"}
        ddl.kwargs.pop("server_settings", None)
        if settings:
            ddl.kwargs["server_settings"] = settings
        return ddl

    async def __call__(self, **extra: Any) -> asyncpg.Connection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        delay = 0.05
        while True:
            remaining = deadline - loop.time()
            try:
                conn = await asyncpg.connect(timeout=max(remaining, 0.001), **self.kwargs, **extra)
            except TimeoutError as exc:
                raise TimeoutError(
                    f"could not connect to PostgreSQL at {self.where} within {self.connect_timeout:g} s "
                    "(connect_timeout)"
                ) from exc
            except (OSError, asyncpg.CannotConnectNowError) as exc:
                if not self.ever_connected or deadline - loop.time() < delay:
                    raise
                log.warning("postgres reconnect to %s failed (%s: %s); retrying", self.where, type(exc).__name__, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            self.ever_connected = True
            log.debug("postgres connection opened to %s (backend pid %s)", self.where, conn.get_server_pid())
            return conn


def make_postgres_engine(
    url: URL,
    *,
    connect_args: dict[str, Any] | None = None,
    connector: PgConnector | None = None,
    ssl: Any = None,
    pool_size: int = 10,
    max_overflow: int = 0,
    pool_timeout: float = 30.0,
    pool_recycle: int = -1,
    pool_pre_ping: bool = False,
    statement_cache_size: int | None = None,
    echo: bool = False,
) -> AsyncEngine:
    """The SQLAlchemy engine (migrations, DDL). With ``connector`` its connections are opened exactly like the fast
    path's; ``connect_args`` (the URL's options, for migrations/env.py) is used otherwise."""
    if connector is None:
        options = connect_options(connect_args or {}, ssl_arg=ssl)
        connector = PgConnector(url, options, statement_cache_size=statement_cache_size)
    connector = connector.for_ddl()
    cache_size = connector.kwargs.get("statement_cache_size")
    creator: dict[str, Any] = {"async_creator": connector}
    if cache_size is not None:
        # SQLAlchemy's adapter keeps its own prepared-statement cache (100): sized like asyncpg's (0 for PgBouncer in
        # transaction mode). ``async_creator`` cannot pass it, so the adapter is built here as SQLAlchemy would.
        def sync_creator() -> Any:
            return engine.sync_engine.dialect.dbapi.connect(  # type: ignore[union-attr]
                async_creator_fn=connector, prepared_statement_cache_size=cache_size
            )

        creator = {"creator": sync_creator}
    engine = create_async_engine(
        url,
        **creator,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=pool_recycle,
        pool_pre_ping=pool_pre_ping,
        json_serializer=_json.dumps,
        json_deserializer=orjson.loads,
        echo=echo,
    )
    return engine


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
        sqlite_log.debug("sqlite connection opened (%s)", url.database or ":memory:")
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
