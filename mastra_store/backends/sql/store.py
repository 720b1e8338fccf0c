"""``SqlStore``: the five SQL domains over one shared :class:`SqlDatabase`."""

from __future__ import annotations

from typing import Any, ClassVar

from ...records.indexes import CreateIndexOptions, IndexInfo, StorageIndexStats
from ...store import BaseStore
from .database import RawAccess, SqlDatabase
from .indexes import IndexManager, default_index_definitions, export_schemas, to_info

__all__ = ("SqlStore",)


class SqlStore(BaseStore):
    """Base of :class:`PostgresStore` and :class:`SqliteStore`."""

    domain_classes: ClassVar[dict[str, type[Any]]] = {}

    def __init__(self, *, id: str, db: SqlDatabase, indexes: list[CreateIndexOptions | dict[str, Any]] | None = None):
        self.database = db
        # Thread state lives in a table of the Mastra 1.x layout only (a 1.0.0-beta store has no such domain).
        stores = {
            name: cls(db=db)
            for name, cls in self.domain_classes.items()
            if name != "thread_state" or db.tables.thread_state is not None
        }
        super().__init__(id=id, stores=stores)  # type: ignore[arg-type]
        self._custom_indexes = list(indexes or [])

    @property
    def engine(self) -> Any:
        """The SQLAlchemy ``AsyncEngine``."""
        return self.database.engine

    @property
    def db(self) -> RawAccess:
        """Raw bound-parameter access: ``any/one/one_or_none/none``; with a ``schema_name``, unqualified table
        names resolve in that schema."""
        token = next(iter(self.stores.values())).store_token if self.stores else "SQL"
        return RawAccess(self.database, token)

    async def _before_domains_init(self) -> None:
        # An explicit init() after close() reopens the store deliberately; any other call on a closed store
        # raises StoreClosedError (the domains' lazy init does not reopen).
        self.database.reopen()
        await self.database.ensure_schema()
        # Custom indexes from the constructor; a failure fails init (README deviation 9).
        for options in self._custom_indexes:
            await self.create_index(options)

    # -- index management (spec §1.12) --------------------------------------------------------------------
    @property
    def _indexes(self) -> IndexManager:
        return IndexManager(self.database)

    async def create_index(self, options: CreateIndexOptions | dict[str, Any]) -> None:
        """Create an index; no-op when an index of that name exists.

        Columns and ``where`` follow a strict grammar (see ``backends/sql/indexes.py``): identifiers,
        ``metadata->>'type'``-style JSON paths, ``ASC``/``DESC``, ``NULLS FIRST/LAST``; ``where`` is a
        conjunction of comparisons with literals and ``IS [NOT] NULL``. Anything else is a USER error.
        On PostgreSQL ``concurrent=True`` (default) builds with ``CONCURRENTLY``. SQLite supports plain,
        unique and partial B-tree indexes and raises ``MASTRA_STORAGE_CREATE_INDEX_NOT_SUPPORTED`` for
        other options. Database failures raise ``MASTRA_STORAGE_<PG|SQLITE>_INDEX_CREATE_FAILED``.
        """
        await self._indexes.create(options)

    async def drop_index(self, name: str) -> None:
        """Drop the index ``name`` of this store's schema; no-op when missing."""
        await self._indexes.drop(name)

    async def list_indexes(self, table_name: str | None = None) -> list[IndexInfo]:
        """Every index of the schema (primary keys included), optionally only those of ``table_name``."""
        return [to_info(s) for s in await self._indexes.list_indexes(table_name)]

    async def describe_index(self, name: str) -> StorageIndexStats:
        """One index with size, definition, method and usage counters (PostgreSQL only)."""
        return await self._indexes.describe(name)

    def default_index_definitions(self) -> list[CreateIndexOptions]:
        """The default indexes the schema migrations create for this store."""
        return default_index_definitions(
            self.database.schema, pg=self.database.is_postgres, layout=self.database.layout
        )

    @staticmethod
    def export_schemas(schema_name: str | None = None) -> str:
        """PostgreSQL DDL of all eight tables (JS ``exportSchemas``), without any connection."""
        return export_schemas(schema_name)

    async def close(self) -> None:
        await super().close()
        await self.database.close()
