"""PostgreSQL backend (asyncpg): ``PostgresStore`` and the standalone ``…PG`` domain classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import ErrorCategory, MastraError
from ..records.indexes import CreateIndexOptions
from .sql.agents import SqlAgents
from .sql.database import SqlDatabase
from .sql.engine import ConnectOptionError, PgConnector, connect_options, make_postgres_engine, postgres_url
from .sql.memory import SqlMemory
from .sql.observability import SqlObservability
from .sql.observational_memory import SqlThreadState
from .sql.schema import resolve_mastra_version
from .sql.scores import SqlScores
from .sql.store import SqlStore
from .sql.tables import check_schema_name
from .sql.workflows import SqlWorkflows

if TYPE_CHECKING:
    from ..retention import RetentionInput

__all__ = (
    "AgentsPG",
    "MemoryPG",
    "ObservabilityPG",
    "PostgresOptions",
    "PostgresStore",
    "ScoresPG",
    "ThreadStatePG",
    "WorkflowsPG",
    "open_postgres_database",
)

_POOL_OPTIONS = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping", "statement_cache_size")
#: Up to 10 connections by default (asyncpg's and node-postgres' default too). Every new connection prepares
#: each hot statement and plans it ~6 times before PostgreSQL settles on a generic plan (~8 ms of server CPU
#: for an agent turn's two statements); C1 (32 concurrent turns on 2 cores) opened 20 and ran at 3100-3250
#: calls/s, with at most 10 at 3800-4000; warmed up, 10 and 20 run alike.
DEFAULT_POOL_SIZE = 10
DEFAULT_MAX_OVERFLOW = 0
#: Seconds a call waits for a free connection before failing with ``StorageUnavailableError`` (SQLAlchemy's 30).
DEFAULT_POOL_TIMEOUT = 30.0


def _pool_option_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for pool option ``name`` (``None``: it is)."""
    if name == "pool_pre_ping":
        return None if isinstance(value, bool) else "must be a bool"
    if name == "pool_timeout":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < float("inf")
        return None if ok else "must be a positive number of seconds"
    if not isinstance(value, int) or isinstance(value, bool):
        return "must be an int"
    least = {"pool_size": 1, "max_overflow": 0, "statement_cache_size": 0, "pool_recycle": -1}[name]
    return None if value >= least else f"must be >= {least}"


class PostgresOptions(TypedDict, total=False):
    """The connection, pool and schema keywords of ``PostgresStore`` (``open_postgres_database``): a type
    checker flags a misspelt one; at run time an unknown one is a USER error naming it."""

    connection_string: str | None
    host: str | None
    port: int
    database: str | None
    user: str | None
    password: str | None
    engine: AsyncEngine | None
    schema_name: str | None
    ssl: Any
    skip_default_indexes: bool
    auto_migrate: bool
    mastra_version: str | None
    connect_timeout: float | None
    command_timeout: float | None
    statement_timeout: int | None
    application_name: str | None
    server_settings: dict[str, str] | None
    sslmode: str | None
    sslrootcert: str | None
    sslcert: str | None
    sslkey: str | None
    pool_size: int
    max_overflow: int
    pool_timeout: float
    pool_recycle: float
    pool_pre_ping: bool
    statement_cache_size: int


def open_postgres_database(
    owner: str,
    *,
    connection_string: str | None = None,
    host: str | None = None,
    port: int = 5432,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
    engine: AsyncEngine | None = None,
    schema_name: str | None = None,
    ssl: Any = None,
    skip_default_indexes: bool = False,
    auto_migrate: bool = True,
    mastra_version: str | None = None,
    connect_timeout: float | None = None,
    command_timeout: float | None = None,
    statement_timeout: int | None = None,
    application_name: str | None = None,
    server_settings: dict[str, str] | None = None,
    sslmode: str | None = None,
    sslrootcert: str | None = None,
    sslcert: str | None = None,
    sslkey: str | None = None,
    **pool: Any,
) -> SqlDatabase:
    """Validate the connection options (spec §0.4) and build the database handle (no I/O yet)."""

    def bad(reason: str, field: str, option: str | None = None) -> MastraError:
        return MastraError(
            id="MASTRA_STORAGE_PG_INITIALIZATION_FAILED",
            category=ErrorCategory.USER,
            text=f"{owner}: {reason}",
            details={"field": field, **({"option": option} if option else {})},
        )

    try:
        layout = resolve_mastra_version(mastra_version)
    except ValueError as exc:
        raise bad(str(exc), "mastra_version") from exc
    unknown = sorted(set(pool) - set(_POOL_OPTIONS))
    if unknown:
        raise bad(f"unknown option {unknown[0]!r}", unknown[0])
    for name, value in pool.items():
        problem = _pool_option_problem(name, value)
        if problem:
            raise bad(f"{name} {problem}", name)
    if schema_name is not None:
        try:
            check_schema_name(schema_name)
        except ValueError as exc:
            raise bad(str(exc), "schema_name") from exc
    keywords = {
        "connect_timeout": connect_timeout,
        "command_timeout": command_timeout,
        "statement_timeout": statement_timeout,
        "application_name": application_name,
        "server_settings": server_settings,
        "sslmode": sslmode,
        "sslrootcert": sslrootcert,
        "sslcert": sslcert,
        "sslkey": sslkey,
    }
    keywords = {k: v for k, v in keywords.items() if v is not None}
    if engine is not None:
        if connection_string or host:
            raise bad("pass either engine or connection options, not both", "engine")
        if not isinstance(engine, AsyncEngine):
            raise bad("engine must be a SQLAlchemy AsyncEngine (create_async_engine)", "engine")
        if engine.dialect.name != "postgresql":
            raise bad(f"engine is for {engine.dialect.name}, not PostgreSQL", "engine")
        configured = sorted([*keywords, *pool, *(["ssl"] if ssl is not None else [])])
        if configured:
            # The injected engine opens every connection: options given here would be silently ignored.
            raise bad(f"{configured[0]} cannot be combined with engine (configure the engine instead)", configured[0])
        # No fast path: every statement runs through the caller's engine (its creator, connect_args and events).
        return SqlDatabase(
            engine,
            owned=False,
            schema=schema_name,
            skip_default_indexes=skip_default_indexes,
            auto_migrate=auto_migrate,
            layout=layout,
        )
    if connection_string is not None:
        if not isinstance(connection_string, str) or not connection_string.strip():
            raise bad("connection_string must be a non-empty string", "connection_string")
        try:
            url, url_options = postgres_url(connection_string)
            connect_options(url_options)
        except ConnectOptionError as exc:
            raise bad(f"invalid connection_string: {exc}", "connection_string", exc.field) from exc
        except Exception as exc:
            raise bad(f"invalid connection_string: {exc}", "connection_string") from exc
    else:
        for field, value in (("host", host), ("database", database), ("user", user)):
            if not isinstance(value, str) or not value.strip():
                raise bad(
                    f"{field} is required (or pass connection_string / engine)",
                    field,
                )
        if password is not None and not isinstance(password, str):
            raise bad("password must be a string", "password")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise bad("port must be an int between 1 and 65535", "port")
        url, url_options = postgres_url(host=host, port=port, database=database, user=user, password=password)
    try:
        options = connect_options({**url_options, **keywords}, ssl_arg=ssl)
    except ConnectOptionError as exc:
        raise bad(str(exc), exc.field) from exc
    connector = PgConnector(url, options, statement_cache_size=pool.get("statement_cache_size"))
    engine_options = {k: v for k, v in pool.items() if k != "statement_cache_size"}
    eng = make_postgres_engine(url, connector=connector, **engine_options)
    return SqlDatabase(
        eng,
        owned=True,
        schema=schema_name,
        skip_default_indexes=skip_default_indexes,
        auto_migrate=auto_migrate,
        connector=connector,
        fast_pool_size=int(pool.get("pool_size", DEFAULT_POOL_SIZE))
        + int(pool.get("max_overflow", DEFAULT_MAX_OVERFLOW)),
        fast_pool_timeout=float(pool.get("pool_timeout", DEFAULT_POOL_TIMEOUT)),
        layout=layout,
    )


class MemoryPG(SqlMemory):
    store_token = "PG"
    open_database = staticmethod(open_postgres_database)


class WorkflowsPG(SqlWorkflows):
    store_token = "PG"
    open_database = staticmethod(open_postgres_database)


class ScoresPG(SqlScores):
    store_token = "PG"
    open_database = staticmethod(open_postgres_database)


class ObservabilityPG(SqlObservability):
    store_token = "PG"
    open_database = staticmethod(open_postgres_database)


class AgentsPG(SqlAgents):
    store_token = "PG"
    open_database = staticmethod(open_postgres_database)


class ThreadStatePG(SqlThreadState):
    store_token = "PG"
    open_database = staticmethod(open_postgres_database)


class PostgresStore(SqlStore):
    """All five domains on PostgreSQL.

    Connect with ``connection_string`` (``postgresql://…``, ``postgres://…``, ``?sslmode=``, or SQLAlchemy's
    ``postgresql+asyncpg://…``), with ``host``/``port``/``database``/``user``/``password``, or hand over an
    ``engine`` (which ``close()`` then leaves open). ``schema_name`` puts every table in that schema.
    Pool options: ``pool_size``, ``max_overflow``, ``pool_timeout``, ``pool_recycle``, ``pool_pre_ping``,
    ``statement_cache_size`` (0 behind PgBouncer in transaction mode).
    Connection options (also accepted in the URL query): ``connect_timeout`` (seconds, default 10),
    ``command_timeout`` (seconds, client side: the query is cancelled on the server), ``statement_timeout``
    (milliseconds, server side), ``application_name``, ``server_settings`` (dict), ``ssl`` / ``sslmode``,
    ``sslrootcert``, ``sslcert``, ``sslkey``. With ``engine=`` every statement runs on that engine and these
    options are refused (configure the engine instead).
    ``mastra_version``: the Mastra release whose tables to keep, ``"1.x"`` (default, @mastra/pg 1.27.1) or
    ``"1.0.0-beta"`` (see README).
    """

    domain_classes = {
        "memory": MemoryPG,
        "workflows": WorkflowsPG,
        "scores": ScoresPG,
        "observability": ObservabilityPG,
        "agents": AgentsPG,
        "thread_state": ThreadStatePG,
    }

    def __init__(
        self,
        *,
        id: str,
        indexes: list[CreateIndexOptions | dict[str, Any]] | None = None,
        disable_init: bool = False,
        retention: RetentionInput = None,
        **options: Unpack[PostgresOptions],
    ) -> None:
        from ..store import check_store_id

        check_store_id(type(self).__name__, id)
        db = open_postgres_database(type(self).__name__, **options)
        super().__init__(id=id, db=db, indexes=indexes)
        self.disable_init = disable_init
        # Mastra's disableInit: init() (explicit or lazy) makes no schema change; the schema is managed elsewhere.
        db.disable_init = disable_init
        self._set_retention(retention)
        self.schema_name = db.schema
