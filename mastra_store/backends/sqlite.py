"""SQLite backend (aiosqlite), the embedded default: ``SqliteStore`` and the ``…Sqlite`` domain classes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Never

from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import ConfigurationError, ErrorCategory, MastraError
from ..records.indexes import CreateIndexOptions
from .sql.agents import SqlAgents
from .sql.database import SqlDatabase
from .sql.engine import make_sqlite_engine, sqlite_url
from .sql.memory import SqlMemory
from .sql.observability import SqlObservability
from .sql.observational_memory import SqlThreadState
from .sql.schema import resolve_mastra_version
from .sql.scores import SqlScores
from .sql.store import SqlStore
from .sql.workflows import SqlWorkflows

if TYPE_CHECKING:
    from ..retention import RetentionInput

__all__ = (
    "AgentsSqlite",
    "MemorySqlite",
    "ObservabilitySqlite",
    "ScoresSqlite",
    "SqliteStore",
    "ThreadStateSqlite",
    "WorkflowsSqlite",
    "open_sqlite_database",
)


def open_sqlite_database(
    owner: str,
    *,
    url: str | None = None,
    path: str | Path | None = None,
    engine: AsyncEngine | None = None,
    busy_timeout_ms: int = 10_000,
    skip_default_indexes: bool = False,
    auto_migrate: bool = True,
    mastra_version: str | None = None,
) -> SqlDatabase:
    """Validate the SQLite options and build the database handle (no I/O yet); the standalone domain classes
    (``MemorySqlite(url=...)``) open theirs with it."""
    try:
        layout = resolve_mastra_version(mastra_version)
    except ValueError as exc:
        raise MastraError(
            id="MASTRA_STORAGE_SQLITE_INITIALIZATION_FAILED",
            category=ErrorCategory.USER,
            text=f"{owner}: {exc}",
            details={"field": "mastra_version"},
        ) from exc
    if engine is not None:
        if engine.dialect.name != "sqlite":
            raise MastraError(
                id="MASTRA_STORAGE_SQLITE_INITIALIZATION_FAILED",
                category=ErrorCategory.USER,
                text=f"{owner}: engine is for {engine.dialect.name}, not SQLite",
                details={"field": "engine"},
            )
        return SqlDatabase(
            engine, owned=False, skip_default_indexes=skip_default_indexes, auto_migrate=auto_migrate, layout=layout
        )
    if url is None and path is None:
        url = "file:./local.db"
    try:
        parsed = sqlite_url(url, path=path)
    except Exception as exc:
        raise MastraError(
            id="MASTRA_STORAGE_SQLITE_INITIALIZATION_FAILED",
            category=ErrorCategory.USER,
            text=f"{owner}: invalid url: {exc}",
            details={"field": "url"},
            cause=exc,
        ) from exc
    return SqlDatabase(
        make_sqlite_engine(parsed, busy_timeout_ms=busy_timeout_ms),
        owned=True,
        skip_default_indexes=skip_default_indexes,
        auto_migrate=auto_migrate,
        sqlite_busy_timeout_ms=busy_timeout_ms,
        layout=layout,
    )


def _unknown_keyword(exc: TypeError) -> str:
    found = re.search(r"keyword argument '(\w+)'", str(exc))
    return found.group(1) if found else "options"


class MemorySqlite(SqlMemory):
    store_token = "SQLITE"
    open_database = staticmethod(open_sqlite_database)


class WorkflowsSqlite(SqlWorkflows):
    store_token = "SQLITE"
    open_database = staticmethod(open_sqlite_database)


class ScoresSqlite(SqlScores):
    store_token = "SQLITE"
    open_database = staticmethod(open_sqlite_database)


class ObservabilitySqlite(SqlObservability):
    store_token = "SQLITE"
    open_database = staticmethod(open_sqlite_database)


class AgentsSqlite(SqlAgents):
    store_token = "SQLITE"
    open_database = staticmethod(open_sqlite_database)


class ThreadStateSqlite(SqlThreadState):
    store_token = "SQLITE"
    open_database = staticmethod(open_sqlite_database)


class SqliteStore(SqlStore):
    """All five domains in one SQLite file (default ``./local.db``); ``url=":memory:"`` for a throwaway DB."""

    domain_classes = {
        "memory": MemorySqlite,
        "workflows": WorkflowsSqlite,
        "scores": ScoresSqlite,
        "observability": ObservabilitySqlite,
        "agents": AgentsSqlite,
        "thread_state": ThreadStateSqlite,
    }

    def __init__(
        self,
        *,
        id: str,
        url: str | None = None,
        path: str | Path | None = None,
        engine: AsyncEngine | None = None,
        busy_timeout_ms: int = 10_000,
        skip_default_indexes: bool = False,
        auto_migrate: bool = True,
        mastra_version: str | None = None,
        indexes: list[CreateIndexOptions | dict[str, Any]] | None = None,
        retention: RetentionInput = None,
        **unknown: Never,
    ) -> None:
        """Args:
        id: store id.
        url: ``file:./local.db``, ``sqlite:///x.db``, ``:memory:`` (default ``file:./local.db``).
        path: a file path (instead of ``url``).
        engine: an aiosqlite ``AsyncEngine`` to use (left open by ``close()``).
        busy_timeout_ms: how long a writer waits for another process's lock.
        skip_default_indexes: create no default index.
        auto_migrate: bring the schema to head at ``init()`` (else raise ``SchemaOutOfDateError``).
        mastra_version: the Mastra release whose tables to keep (``"1.x"`` default, ``"1.0.0-beta"``; README).
        indexes: extra indexes created at ``init()``.
        retention: age-based retention policy for :meth:`prune` (:mod:`mastra_store.retention`).
        """
        from ..store import check_store_id

        check_store_id(type(self).__name__, id)
        if unknown:  # a type checker flags these already (``Never``); at run time: a MastraError naming it
            name = sorted(unknown)[0]
            raise ConfigurationError("SQLITE", f"{type(self).__name__}: unexpected keyword argument {name!r}", name)
        try:
            db = open_sqlite_database(
                type(self).__name__,
                url=url,
                path=path,
                engine=engine,
                busy_timeout_ms=busy_timeout_ms,
                skip_default_indexes=skip_default_indexes,
                auto_migrate=auto_migrate,
                mastra_version=mastra_version,
            )
        except TypeError as exc:
            raise ConfigurationError("SQLITE", f"{type(self).__name__}: {exc}", _unknown_keyword(exc)) from exc
        super().__init__(id=id, db=db, indexes=indexes)
        self._set_retention(retention)
