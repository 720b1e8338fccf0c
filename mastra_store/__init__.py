"""mastra_store: async-first Python storage for AI-agent state, compatible with Mastra's storage schema."""

import importlib
from typing import TYPE_CHECKING, Any

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

__version__ = "0.1.0"

#: Backends are imported on first use (PEP 562): a process loads only the backends it names, e.g. a
#: PostgreSQL service never imports aiosqlite, the in-memory backend or the DynamoDB adapter (aioboto3
#: itself, the ``dynamodb`` extra, is imported only when a DynamoDB client is opened).
_LAZY: dict[str, str] = {
    "InMemoryStore": "inmemory",
    **dict.fromkeys(
        ("AgentsPG", "MemoryPG", "ObservabilityPG", "PostgresStore", "ScoresPG", "WorkflowsPG"), "postgres"
    ),
    **dict.fromkeys(
        ("AgentsSqlite", "MemorySqlite", "ObservabilitySqlite", "ScoresSqlite", "SqliteStore", "WorkflowsSqlite"),
        "sqlite",
    ),
    **dict.fromkeys(
        (
            "AgentsDynamoDB",
            "DynamoDBStore",
            "MemoryDynamoDB",
            "ObservabilityDynamoDB",
            "ScoresDynamoDB",
            "WorkflowsDynamoDB",
        ),
        "dynamodb",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        backend = importlib.import_module(f".backends.{module}", __name__)
        value = getattr(backend, name)
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
