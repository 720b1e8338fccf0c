"""mastra_store: async-first Python storage for AI-agent state, compatible with Mastra's storage schema."""

from typing import TYPE_CHECKING, Any

from .backends.inmemory import InMemoryStore
from .backends.postgres import AgentsPG, MemoryPG, ObservabilityPG, PostgresStore, ScoresPG, WorkflowsPG
from .backends.sqlite import (
    AgentsSqlite,
    MemorySqlite,
    ObservabilitySqlite,
    ScoresSqlite,
    SqliteStore,
    WorkflowsSqlite,
)
from .composite import MastraCompositeStore, MastraStorage
from .domains import (
    AgentsStorage,
    MemoryStorage,
    ObservabilityStorage,
    ScoresStorage,
    StorageDomain,
    WorkflowsStorage,
)
from .errors import (
    ErrorCategory,
    ErrorDomain,
    MastraError,
    NotSupportedError,
    SchemaOutOfDateError,
    StorageUnavailableError,
    ValidationError,
)
from .store import BaseStore
from .types import UNSET, DateRange, PaginationInfo, StorageOrderBy, StoragePagination

if TYPE_CHECKING:
    from .backends.dynamodb import (
        AgentsDynamoDB,
        DynamoDBStore,
        MemoryDynamoDB,
        ObservabilityDynamoDB,
        ScoresDynamoDB,
        WorkflowsDynamoDB,
    )

__version__ = "0.1.0"

#: Imported on first use (PEP 562): a PostgreSQL/SQLite process never loads the DynamoDB backend (~1 MB RSS);
#: aioboto3 itself (the ``dynamodb`` extra) is imported only when a DynamoDB client is opened.
_DYNAMODB = frozenset(
    (
        "AgentsDynamoDB",
        "DynamoDBStore",
        "MemoryDynamoDB",
        "ObservabilityDynamoDB",
        "ScoresDynamoDB",
        "WorkflowsDynamoDB",
    )
)


def __getattr__(name: str) -> Any:
    if name in _DYNAMODB:
        from .backends import dynamodb

        value = getattr(dynamodb, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = (
    "UNSET",
    "AgentsDynamoDB",
    "AgentsPG",
    "AgentsSqlite",
    "AgentsStorage",
    "BaseStore",
    "DateRange",
    "DynamoDBStore",
    "ErrorCategory",
    "ErrorDomain",
    "InMemoryStore",
    "MastraCompositeStore",
    "MastraError",
    "MastraStorage",
    "MemoryDynamoDB",
    "MemoryPG",
    "MemorySqlite",
    "MemoryStorage",
    "NotSupportedError",
    "ObservabilityDynamoDB",
    "ObservabilityPG",
    "ObservabilitySqlite",
    "ObservabilityStorage",
    "PaginationInfo",
    "PostgresStore",
    "SchemaOutOfDateError",
    "ScoresDynamoDB",
    "ScoresPG",
    "ScoresSqlite",
    "ScoresStorage",
    "SqliteStore",
    "StorageDomain",
    "StorageOrderBy",
    "StoragePagination",
    "StorageUnavailableError",
    "ValidationError",
    "WorkflowsDynamoDB",
    "WorkflowsPG",
    "WorkflowsSqlite",
    "WorkflowsStorage",
)
