"""Vector stores with Mastra's API and filter language: ``PgVector`` (pgvector; the ``@mastra/pg`` table layout),
``SqliteVector`` (exact search on SQLite) and ``InMemoryVector``."""

from typing import TYPE_CHECKING, Any

from .base import DEFAULT_NAMESPACE, IndexStats, QueryResult, VectorStore
from .filter import FilterError, parse_filter
from .inmemory import InMemoryVector
from .sqlite import SqliteVector

if TYPE_CHECKING:
    from .pg import PgVector

__all__ = (
    "DEFAULT_NAMESPACE",
    "FilterError",
    "InMemoryVector",
    "IndexStats",
    "PgVector",
    "QueryResult",
    "SqliteVector",
    "VectorStore",
    "parse_filter",
)


def __getattr__(name: str) -> Any:
    # PgVector imports asyncpg's pool machinery only when asked for.
    if name == "PgVector":
        from .pg import PgVector

        return PgVector
    raise AttributeError(name)
