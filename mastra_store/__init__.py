"""mastra_store: async-first Python storage for AI-agent state, compatible with Mastra's storage schema."""

import importlib
from typing import TYPE_CHECKING, Any

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
    from .backends.postgres import (
        AgentsPG,
        MemoryPG,
        ObservabilityPG,
        PostgresStore,
        ScoresPG,
        ThreadStatePG,
        WorkflowsPG,
    )
    from .backends.sqlite import (
        AgentsSqlite,
        MemorySqlite,
        ObservabilitySqlite,
        ScoresSqlite,
        SqliteStore,
        ThreadStateSqlite,
        WorkflowsSqlite,
    )
    from .composite import MastraCompositeStore, MastraStorage
    from .domains import (
        AgentsStorage,
        MemoryStorage,
        ObservabilityStorage,
        ScoresStorage,
        StorageDomain,
        ThreadStateStorage,
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

__version__ = "0.1.0"

#: Everything is imported on first use (PEP 562): ``import mastra_store`` (or of any submodule, e.g. by the pytest
#: plugin that loads in every pytest run) costs nothing until a name is used, and a process loads only the backends
#: it names, e.g. a PostgreSQL service never imports aiosqlite, the in-memory backend or the DynamoDB adapter
#: (aioboto3 itself, the ``dynamodb`` extra, is imported only when a DynamoDB client is opened).
_LAZY: dict[str, str] = {
    **dict.fromkeys(("MastraCompositeStore", "MastraStorage"), "composite"),
    **dict.fromkeys(
        (
            "AgentsStorage",
            "MemoryStorage",
            "ObservabilityStorage",
            "ScoresStorage",
            "StorageDomain",
            "ThreadStateStorage",
            "WorkflowsStorage",
        ),
        "domains",
    ),
    **dict.fromkeys(
        (
            "ErrorCategory",
            "ErrorDomain",
            "MastraError",
            "NotSupportedError",
            "SchemaOutOfDateError",
            "StorageUnavailableError",
            "ValidationError",
        ),
        "errors",
    ),
    "BaseStore": "store",
    **dict.fromkeys(("UNSET", "DateRange", "PaginationInfo", "StorageOrderBy", "StoragePagination"), "types"),
    "InMemoryStore": "backends.inmemory",
    **dict.fromkeys(
        ("AgentsPG", "MemoryPG", "ObservabilityPG", "PostgresStore", "ScoresPG", "ThreadStatePG", "WorkflowsPG"),
        "backends.postgres",
    ),
    **dict.fromkeys(
        (
            "AgentsSqlite",
            "MemorySqlite",
            "ObservabilitySqlite",
            "ScoresSqlite",
            "SqliteStore",
            "ThreadStateSqlite",
            "WorkflowsSqlite",
        ),
        "backends.sqlite",
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
        "backends.dynamodb",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
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
    "ThreadStatePG",
    "ThreadStateSqlite",
    "ThreadStateStorage",
    "ValidationError",
    "WorkflowsDynamoDB",
    "WorkflowsPG",
    "WorkflowsSqlite",
    "WorkflowsStorage",
)
