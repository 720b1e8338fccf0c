"""mastra_store: async-first Python storage for AI-agent state, compatible with Mastra's storage schema."""

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
    "AgentsPG",
    "AgentsSqlite",
    "AgentsStorage",
    "BaseStore",
    "DateRange",
    "ErrorCategory",
    "ErrorDomain",
    "InMemoryStore",
    "MastraCompositeStore",
    "MastraError",
    "MastraStorage",
    "MemoryPG",
    "MemorySqlite",
    "MemoryStorage",
    "NotSupportedError",
    "ObservabilityPG",
    "ObservabilitySqlite",
    "ObservabilityStorage",
    "PaginationInfo",
    "PostgresStore",
    "SchemaOutOfDateError",
    "ScoresPG",
    "ScoresSqlite",
    "ScoresStorage",
    "SqliteStore",
    "StorageDomain",
    "StorageOrderBy",
    "StoragePagination",
    "StorageUnavailableError",
    "ValidationError",
    "WorkflowsPG",
    "WorkflowsSqlite",
    "WorkflowsStorage",
)
