"""mastra_store: async-first Python storage for AI-agent state, compatible with Mastra's storage schema."""

# aioboto3 (the ``dynamodb`` extra) is imported only when a DynamoDB client is opened, so this import is safe.
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

__version__ = "0.1.0"

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
