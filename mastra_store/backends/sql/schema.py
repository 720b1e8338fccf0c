"""Schema management: bring a database to the Alembic head this library needs, cheaply when it already is.

* The migrations ship inside the wheel as ``mastra_store.migrations`` (``migrations/`` in the source tree);
  :func:`alembic_config` points an Alembic ``Config`` at them, so ``init()`` works from an installed package.
* Their version table is our own, ``mastra_store_alembic_version``, in the target schema: a host application's
  ``alembic_version`` is never touched.
* :func:`ensure_schema` first reads the version row (one query, no lock, no Alembic import). Only when the
  database is behind does it take the migration path: PostgreSQL on a dedicated connection under
  ``pg_advisory_lock(<key of the schema name>)`` (env.py), SQLite inside ``BEGIN IMMEDIATE`` behind the
  store's writer lock. Alembic re-reads the version under the lock, so concurrent starters never repeat work.
* An *empty* database (none of our tables, no version table) is bootstrapped without Alembic
  (:func:`_bootstrap`): under the same lock, the head schema is created from the models in ``tables.py`` and
  the head revision is written, in one transaction. Importing Alembic alone cost ~50 ms of a ~145 ms first
  init. tests/migrations proves models == migrations at head and bootstrapped == migrated.
* A database ``@mastra/pg`` created (tables, no version table) is adopted in place by revision 0001, which only
  adds what is missing (see its docstring); Alembic then stamps it.
* With ``auto_migrate=False`` nothing is changed: a database behind head raises :class:`SchemaOutOfDateError`
  naming the missing tables and the current vs head revision.
* Which Mastra release the tables serve is the store's ``mastra_version`` (:func:`resolve_mastra_version`):
  ``"1.x"`` (default, @mastra/pg 1.27.1, head ``0006``) or ``"1.0.0-beta"`` (1.0.0-beta.13, pinned at ``0002``).
  A pinned store never upgrades past its head, and refuses (USER error) a database already past it.
* On PostgreSQL the form of the two JSON columns 1.27.1 may hold as TEXT or JSONB is read once per init
  (:func:`_detect_jsonb`), as 1.27.1 checks it at run time: ``SqlDatabase.column_is_jsonb``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import weakref
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from ...errors import ErrorCategory, MastraError, SchemaOutOfDateError, StorageUnavailableError, storage_error_id
from .database import is_connection_error
from .tables import DEFAULT_INDEXES, TABLE_NAMES, Layout, build_tables, index_name, layout_table_names

if TYPE_CHECKING:
    from alembic.config import Config

    from .database import SqlDatabase

__all__ = (
    "HEAD_REVISION",
    "LAYOUT_HEADS",
    "MASTRA_VERSIONS",
    "VERSION_TABLE",
    "advisory_lock_key",
    "alembic_config",
    "bootstrap_ddl",
    "ensure_schema",
    "include_object",
    "migrations_path",
    "read_versions",
    "resolve_mastra_version",
    "text_held_form",
    "version_table",
)

#: Alembic's version table for mastra_store's own migrations (kept apart from a host app's ``alembic_version``).
VERSION_TABLE: Final = "mastra_store_alembic_version"
_log = logging.getLogger("mastra_store.migrations")

#: The newest revision in ``migrations/versions``; tests/migrations checks it against the script directory.
HEAD_REVISION: Final = "0006"
#: The revision each layout lives at: a store pinned to the beta stops at 0002.
LAYOUT_HEADS: Final[dict[Layout, str]] = {"beta": "0002", "v1": "0006"}
#: ``mastra_version`` values → layout (plus the aliases :func:`resolve_mastra_version` accepts).
MASTRA_VERSIONS: Final[dict[str, Layout]] = {"1.x": "v1", "1.0.0-beta": "beta"}
_BETA = re.compile(r"^(1\.0\.0-)?beta(\.\d+)?$")
_CURRENT = re.compile(r"^(1|1\.x|latest|current|1\.\d+(\.\d+)?)$")
#: The two columns 1.27.1 creates as JSONB but leaves TEXT on a database it upgraded from the beta.
JSON_TEXT_COLUMNS: Final = (("mastra_threads", "metadata"), ("mastra_workflow_snapshot", "snapshot"))


def text_held_form(diff: Any, schema: str | None) -> bool:
    """Whether an autogenerate difference is only 1.27.1's *upgraded* form (as valid as the fresh one).

    On a database upgraded from the beta, ``mastra_threads.metadata`` / ``mastra_workflow_snapshot.snapshot``
    stay TEXT (the models say JSONB) and the two JSONB expression indexes cannot exist. Drift checks skip those.
    """
    if isinstance(diff, list):
        return all(text_held_form(d, schema) for d in diff)
    if diff[0] == "modify_type":
        return (diff[2], diff[3]) in JSON_TEXT_COLUMNS
    if diff[0] == "add_index":
        return diff[1].name in {index_name(d.name, schema) for d in DEFAULT_INDEXES if d.jsonb_only}
    return False


def resolve_mastra_version(value: object) -> Layout:
    """The table layout for a store's ``mastra_version``.

    ``None``, ``"1.x"`` (also ``"1"``, ``"latest"``, ``"1.27.1"`` …): the current layout (@mastra/pg 1.27.1).
    ``"1.0.0-beta"`` (also ``"1.0.0-beta.13"``, ``"beta"``): the 1.0.0-beta.13 layout, never upgraded.

    Raises:
        ValueError: anything else (the stores turn it into a USER error naming ``mastra_version``).
    """
    if value is None:
        return "v1"
    if isinstance(value, str):
        v = value.strip().lower()
        if _BETA.match(v):
            return "beta"
        if _CURRENT.match(v) and not v.startswith("1.0.0"):
            return "v1"
    raise ValueError(f"mastra_version must be '1.x' (the default) or '1.0.0-beta', got {value!r}")


def migrations_path() -> Path:
    """Folder of the packaged migrations (``mastra_store.migrations``), or ``<repo>/migrations`` in a checkout."""
    try:
        from importlib.resources import files

        path = Path(str(files("mastra_store.migrations")))
    except ModuleNotFoundError:  # source checkout without an install: the package maps to ./migrations
        path = Path(__file__).resolve().parents[3] / "migrations"
    if not (path / "env.py").is_file():
        raise RuntimeError(f"mastra_store migrations not found at {path}")
    return path


def alembic_config(
    *, schema: str | None = None, skip_default_indexes: bool = False, connection: Any = None, url: str | None = None
) -> Config:
    """An Alembic ``Config`` on the packaged migrations, with the options env.py reads from ``attributes``.

    Args:
        schema: target schema (PostgreSQL); ``None`` is the connection's default schema.
        skip_default_indexes: do not create the default indexes.
        connection: a *sync* SQLAlchemy ``Connection`` to run on (from ``AsyncConnection.run_sync``).
        url: database URL when no connection is given (else env.py falls back to ``DATABASE_URL``).
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path()))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes.update(schema=schema, skip_default_indexes=skip_default_indexes)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def advisory_lock_key(schema: str | None) -> int:
    """A stable signed 64-bit ``pg_advisory_lock`` key for migrating ``schema``."""
    digest = hashlib.blake2b(f"mastra_store.migrate:{schema or ''}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _version_table(schema: str | None) -> sa.TableClause:
    return sa.table(VERSION_TABLE, sa.column("version_num", sa.String), schema=schema)


def read_versions(schema: str | None) -> sa.Select[tuple[str]]:
    """The one statement of the fast path: the version rows (fails when the table does not exist)."""
    t = _version_table(schema)
    return sa.select(t.c.version_num)


def include_object(schema: str | None, dialect: str, skip_default_indexes: bool = False) -> Callable[..., bool]:
    """Autogenerate filter: only our tables; no PostgreSQL-only index on SQLite; no default index when skipped."""
    # Left out on SQLite: PostgreSQL-only indexes and those SQLite has in some layouts only (no layout known here).
    pg_only = {index_name(d.name, schema) for d in DEFAULT_INDEXES if d.postgres_only or d.sqlite_layouts is not None}
    defaults = {index_name(d.name, schema) for d in DEFAULT_INDEXES}

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return name in TABLE_NAMES
        if type_ == "index" and name is not None:
            if dialect != "postgresql" and name in pg_only:
                return False
            if skip_default_indexes and name in defaults:
                return False
        return True

    return include


def _store_token(db: SqlDatabase) -> str:
    return "PG" if db.is_postgres else "SQLITE"


@cache
def _read_state(schema: str | None) -> sa.Select[Any]:
    """The version rows, each with the ``table.column`` names of :data:`JSON_TEXT_COLUMNS` that are JSONB here
    (PostgreSQL, 1.x layout): the init of an up-to-date database stays one round trip."""
    a = sa.table(
        "pg_attribute",
        *(sa.column(c) for c in ("attrelid", "attname", "atttypid", "attisdropped")),
        schema="pg_catalog",
    )
    c = sa.table("pg_class", sa.column("oid"), sa.column("relname"), sa.column("relnamespace"), schema="pg_catalog")
    n = sa.table("pg_namespace", sa.column("oid"), sa.column("nspname"), schema="pg_catalog")
    jsonb = (
        sa.select(sa.func.array_agg(sa.func.concat(c.c.relname, ".", a.c.attname)))
        .select_from(a.join(c, c.c.oid == a.c.attrelid).join(n, n.c.oid == c.c.relnamespace))
        .where(
            n.c.nspname
            == sa.func.coalesce(sa.bindparam("jsonb_schema", schema, type_=sa.Text), sa.func.current_schema()),
            a.c.atttypid == sa.text("'jsonb'::regtype"),
            sa.not_(a.c.attisdropped),
            sa.tuple_(c.c.relname, a.c.attname).in_(
                [sa.tuple_(sa.literal(t), sa.literal(col)) for t, col in JSON_TEXT_COLUMNS]
            ),
        )
        .scalar_subquery()
    )
    return read_versions(schema).add_columns(jsonb.label("jsonb_columns"))


async def _current_versions(db: SqlDatabase) -> set[str] | None:
    """Version rows, or ``None`` when the version table does not exist (one round trip). On PostgreSQL in the
    1.x layout the same statement tells which JSON-as-text columns are JSONB (``db.jsonb_columns``)."""
    detect = db.is_postgres and db.layout == "v1"
    try:
        rows = await db.all(_read_state(db.schema) if detect else read_versions(db.schema))
    except sa_exc.DBAPIError as exc:
        if is_connection_error(exc):
            raise
        return None  # no version table (UndefinedTable / "no such table")
    if detect and rows:
        names: list[str] = rows[0]._mapping["jsonb_columns"] or []
        db.jsonb_columns = frozenset((t, col) for t, _, col in (name.partition(".") for name in names))
    return {r[0] for r in rows}


def _missing_tables(conn: sa.Connection, schema: str | None, layout: Layout) -> list[str]:
    have = set(sa.inspect(conn).get_table_names(schema=schema))
    return [t for t in layout_table_names(layout) if t not in have]


async def _raise_out_of_date(db: SqlDatabase, versions: set[str] | None) -> None:
    async with db.autocommit.connect() as conn:
        missing = await conn.run_sync(_missing_tables, db.schema, db.layout)
    current = ", ".join(sorted(versions)) if versions else "none"
    where = f"schema {db.schema!r}" if db.schema else "the database"
    head = LAYOUT_HEADS[db.layout]
    parts = [f"current revision {current}, head {head}"]
    if versions is None and len(missing) < len(layout_table_names(db.layout)):
        parts.append("Mastra tables exist but are not under mastra_store migrations (no version table)")
    if missing:
        parts.append("missing tables: " + ", ".join(missing))
    raise SchemaOutOfDateError(
        id=storage_error_id(_store_token(db), "INIT", "SCHEMA_OUT_OF_DATE"),
        category=ErrorCategory.USER,
        text=f"{where} is out of date ({'; '.join(parts)}). "
        "Run `mastra-store migrate upgrade` or set auto_migrate=True.",
        details={
            "schema": db.schema,
            "current_revision": sorted(versions) if versions else None,
            "head_revision": head,
            "missing_tables": missing,
        },
    )


def _raise_newer(db: SqlDatabase, versions: set[str] | None, reason: str) -> None:
    where = f"schema {db.schema!r}" if db.schema else "the database"
    raise MastraError(
        id=storage_error_id(_store_token(db), "INIT", "SCHEMA_NEWER_THAN_RELEASE"),
        category=ErrorCategory.USER,
        text=(
            f"{where} {reason}; this store is pinned to mastra_version='1.0.0-beta' (revision "
            f"{LAYOUT_HEADS['beta']}). Use mastra_version='1.x', or `alembic downgrade {LAYOUT_HEADS['beta']}` "
            "once no Mastra 1.x app uses the database."
        ),
        details={
            "field": "mastra_version",
            "schema": db.schema,
            "current_revision": sorted(versions) if versions else None,
            "head_revision": LAYOUT_HEADS["beta"],
        },
    )


def _has_v1_agents(conn: sa.Connection, schema: str | None) -> bool:
    """True when the agents tables are already the 1.x ones (a database a Mastra 1.x app created)."""
    insp = sa.inspect(conn)
    names = set(insp.get_table_names(schema=schema))
    if "mastra_agent_versions" in names:
        return True
    return "mastra_agents" in names and "activeVersionId" in {
        c["name"] for c in insp.get_columns("mastra_agents", schema=schema)
    }


def _upgrade(connection: sa.Connection, schema: str | None, skip_default_indexes: bool, target: str) -> None:
    from alembic import command

    cfg = alembic_config(schema=schema, skip_default_indexes=skip_default_indexes, connection=connection)
    command.upgrade(cfg, target)


# Alembic keeps its running context in module globals (``alembic.context``, ``alembic.op``): two upgrades
# interleaving on one event loop would clobber each other, so in-process runs queue here first.
_RUN_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _run_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _RUN_LOCKS.get(loop)
    if lock is None:
        lock = _RUN_LOCKS[loop] = asyncio.Lock()
    return lock


def version_table(schema: str | None) -> sa.Table:
    """The version table exactly as Alembic creates it (``MigrationContext._version``)."""
    return sa.Table(
        VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
        schema=schema,
    )


def bootstrap_ddl(
    dialect: sa.Dialect, schema: str | None, skip_default_indexes: bool, layout: Layout = "v1"
) -> list[str]:
    """The statements that create ``layout`` on an empty database and stamp its head revision.

    ``metadata.create_all`` on a mock engine: it orders the tables and honours ``ddl_if`` (the gin indexes
    are PostgreSQL-only); nothing is executed here.
    """
    out: list[str] = []

    def collect(ddl: Any, *_: Any, **__: Any) -> None:
        out.append(str(ddl.compile(dialect=dialect)).strip())

    mock = sa.create_mock_engine(sa.engine.make_url(f"{dialect.name}://"), collect)
    # Spelled as SqlDatabase does, so the cached models are reused (~8 ms to build).
    tables = build_tables(schema, not skip_default_indexes, layout)
    tables.metadata.create_all(mock, checkfirst=False)
    vt = version_table(schema)
    vt.create(mock, checkfirst=False)
    stamp = vt.insert().values(version_num=LAYOUT_HEADS[layout])
    out.append(str(stamp.compile(dialect=dialect, compile_kwargs={"literal_binds": True})))
    if dialect.name == "postgresql" and schema is not None:
        out.insert(0, f'CREATE SCHEMA IF NOT EXISTS "{schema}"')  # validated identifier (build_tables)
    return out


#: Client-side bound of the bootstrap DDL on a pooled connection (the store's command_timeout is for data calls).
_DDL_TIMEOUT: Final = 3600.0


async def _bootstrap(db: SqlDatabase) -> bool:
    """Create the head schema when the database holds none of our tables; ``False`` (nothing done) otherwise.

    Same lock as the migration path: PostgreSQL's advisory lock on the schema key (on a pooled asyncpg
    connection, so the whole DDL script is one round trip), SQLite's ``BEGIN IMMEDIATE``.
    """
    ddl = bootstrap_ddl(db.engine.dialect, db.schema, db.skip_default_indexes, db.layout)
    names = [*TABLE_NAMES, VERSION_TABLE]
    if db.fast is not None:
        pool = await db.fast.pool()
        key = advisory_lock_key(db.schema)
        async with pool.connection() as conn:
            # The store's command_timeout / statement_timeout bound data calls, not this lock wait or the DDL.
            await conn.execute("SET statement_timeout = 0", timeout=_DDL_TIMEOUT)
            try:
                await conn.execute("SELECT pg_advisory_lock($1)", key, timeout=_DDL_TIMEOUT)
                try:
                    found = await conn.fetchval(
                        "SELECT count(*) FROM pg_catalog.pg_tables "
                        "WHERE schemaname = coalesce($1, current_schema()) AND tablename = ANY($2::text[])",
                        db.schema,
                        names,
                        timeout=_DDL_TIMEOUT,
                    )
                    if found:
                        return False
                    async with conn.transaction():
                        # simple-query protocol: one round trip
                        await conn.execute(";\n".join(ddl), timeout=_DDL_TIMEOUT)
                    return True
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", key, timeout=_DDL_TIMEOUT)
            finally:
                await conn.execute("SET statement_timeout TO DEFAULT", timeout=_DDL_TIMEOUT)  # the session's own
    if db.is_postgres:
        return False  # not asyncpg: Alembic does it
    async with db.engine_transaction() as sconn:  # BEGIN IMMEDIATE behind the writer lock
        found = await sconn.scalar(
            sa.text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN :names").bindparams(
                sa.bindparam("names", expanding=True)
            ),
            {"names": names},
        )
        if found:
            return False
        for stmt in ddl:
            await sconn.exec_driver_sql(stmt)
        return True


async def _migrate(db: SqlDatabase, versions: set[str] | None) -> None:
    target = LAYOUT_HEADS[db.layout]
    if db.layout == "beta" and versions is None:
        # Adopting tables without a version table: refuse those a Mastra 1.x app made (no beta layout to keep).
        async with db.autocommit.connect() as conn:
            if await conn.run_sync(_has_v1_agents, db.schema):
                _raise_newer(db, versions, "holds the tables of Mastra 1.x (mastra_agent_versions)")
    if db.is_postgres:
        # Dedicated connection: env.py holds the session-level advisory lock on it for the whole upgrade.
        async with db.engine.connect() as conn:
            await conn.run_sync(_upgrade, db.schema, db.skip_default_indexes, target)
    else:
        # BEGIN IMMEDIATE: other processes wait on the file lock; env.py then runs inside this transaction.
        async with db.engine_transaction() as conn:
            await conn.run_sync(_upgrade, db.schema, db.skip_default_indexes, target)


_DETECT_JSONB = sa.text(
    "SELECT c.relname, a.attname FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = coalesce(:schema, current_schema()) AND a.atttypid = 'jsonb'::regtype "
    "AND NOT a.attisdropped AND (c.relname, a.attname) IN "
    "(('mastra_threads', 'metadata'), ('mastra_workflow_snapshot', 'snapshot'))"
)


async def _detect_jsonb(db: SqlDatabase) -> None:
    """Which of :data:`JSON_TEXT_COLUMNS` are JSONB here (1.x; TEXT on a beta-upgraded database)."""
    if db.is_postgres and db.layout == "v1":
        rows = await db.all(_DETECT_JSONB, {"schema": db.schema})
        db.jsonb_columns = frozenset((r._mapping["relname"], r._mapping["attname"]) for r in rows)
    else:
        db.jsonb_columns = frozenset()


async def ensure_schema(db: SqlDatabase) -> None:
    """Bring ``db`` to the head of its layout, :data:`LAYOUT_HEADS` (or only verify it when ``db.auto_migrate`` is
    off), then read which JSON columns are JSONB.

    Raises:
        SchemaOutOfDateError: ``auto_migrate`` is off and the database is behind.
        StorageUnavailableError: the database could not be reached.
        MastraError: the migration failed (category THIRD_PARTY).
    """
    head = LAYOUT_HEADS[db.layout]
    versions = await _current_versions(db)
    if versions == {head}:
        return  # the JSONB columns were read by the same statement
    if db.layout == "beta" and versions and versions - {"0001", head}:
        _raise_newer(db, versions, f"is at revision {', '.join(sorted(versions))} (Mastra 1.x tables)")
    if not db.auto_migrate:
        await _raise_out_of_date(db, versions)
    try:
        async with _run_lock():
            versions = await _current_versions(db)
            where = db.schema or "the default schema"
            if versions != {head}:
                if versions is None and await _bootstrap(db):
                    _log.debug("created the mastra_store tables in %s at revision %s", where, head)
                else:
                    _log.info("migrating %s from %s to %s", where, ", ".join(sorted(versions or ())) or "base", head)
                    await _migrate(db, versions)
                    _log.info("migrated %s to %s", where, head)
        await _detect_jsonb(db)
    except MastraError:
        raise
    except Exception as exc:
        kind = StorageUnavailableError if is_connection_error(exc) else MastraError
        raise kind(
            id=storage_error_id(_store_token(db), "INIT", "MIGRATION_FAILED"),
            category=ErrorCategory.THIRD_PARTY,
            text=f"migrating {'schema ' + repr(db.schema) if db.schema else 'the database'} failed: {exc}",
            details={"schema": db.schema, "head_revision": head},
            cause=exc,
        ) from exc
