"""``SqlStore``: the five SQL domains over one shared :class:`SqlDatabase`."""

from __future__ import annotations

from typing import Any, ClassVar

from ...records.indexes import CreateIndexOptions
from ...store import BaseStore
from .database import RawAccess, SqlDatabase

__all__ = ("SqlStore",)


class SqlStore(BaseStore):
    """Base of :class:`PostgresStore` and :class:`SqliteStore`."""

    domain_classes: ClassVar[dict[str, type[Any]]] = {}

    def __init__(self, *, id: str, db: SqlDatabase, indexes: list[CreateIndexOptions | dict[str, Any]] | None = None):
        self.database = db
        stores = {name: cls(db=db) for name, cls in self.domain_classes.items()}
        super().__init__(id=id, stores=stores)  # type: ignore[arg-type]
        self._custom_indexes = list(indexes or [])

    @property
    def engine(self) -> Any:
        """The SQLAlchemy ``AsyncEngine``."""
        return self.database.engine

    @property
    def db(self) -> RawAccess:
        """Raw bound-parameter access: ``any/one/one_or_none/none``."""
        token = next(iter(self.stores.values())).store_token if self.stores else "SQL"
        return RawAccess(self.database, token)

    async def _before_domains_init(self) -> None:
        await self.database.ensure_schema()

    async def close(self) -> None:
        await super().close()
        await self.database.close()
