"""The store object: a bundle of the five domains over one backend (JS ``MastraStorage``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, overload

from .domains import (
    DOMAIN_NAMES,
    AgentsStorage,
    DomainName,
    MemoryStorage,
    ObservabilityStorage,
    ScoresStorage,
    StorageDomain,
    ThreadStateStorage,
    WorkflowsStorage,
)
from .errors import ConfigurationError, ErrorCategory, NotSupportedError, ValidationError
from .records.indexes import CreateIndexOptions, IndexInfo, StorageIndexStats

if TYPE_CHECKING:
    from .retention import PruneResult, RetentionInput, RetentionPolicy

__all__ = ("BaseStore", "check_store_id")

D = TypeVar("D", bound=StorageDomain)


def check_store_id(cls_name: str, id: Any) -> str:
    """``id`` when it is a non-empty string; else the USER ``ConfigurationError`` naming ``id`` (store constructors)."""
    if not isinstance(id, str) or not id.strip():
        raise ConfigurationError("STORE", f"{cls_name}: id must be provided and cannot be empty.", "id")
    return id


class BaseStore:
    """Holds one domain object per domain name and drives their lifecycle.

    Subclasses fill :attr:`stores`; ``init()`` runs every distinct domain's ``init()`` concurrently, once.
    """

    def __init__(self, *, id: str, stores: Mapping[DomainName, StorageDomain | None] | None = None) -> None:
        self.id = check_store_id(type(self).__name__, id)
        self.stores: dict[DomainName, StorageDomain] = {k: v for k, v in (stores or {}).items() if v is not None}
        self._initialized = False
        self._init_lock = asyncio.Lock()

    #: Age-based retention (``retention=`` of the store constructors); :meth:`prune` applies it.
    retention: RetentionPolicy | None = None

    def _set_retention(self, retention: RetentionInput) -> None:
        from .retention import RetentionPolicy

        self.retention = None if retention is None else RetentionPolicy(retention)

    async def prune(
        self,
        *,
        retention: RetentionInput = None,
        max_batches: int | None = None,
        max_rows: int | None = None,
        pause_ms: float = 0,
        dry_run: bool = False,
    ) -> list[PruneResult]:
        """Delete rows older than their table's ``maxAge`` (Mastra's ``prune()``); ``retention`` replaces the
        store's policy for this call. See :mod:`mastra_store.retention`."""
        from .retention import prune

        return await prune(
            self, retention, max_batches=max_batches, max_rows=max_rows, pause_ms=pause_ms, dry_run=dry_run
        )

    @overload
    async def get_store(self, domain: Literal["memory"]) -> MemoryStorage | None: ...
    @overload
    async def get_store(self, domain: Literal["workflows"]) -> WorkflowsStorage | None: ...
    @overload
    async def get_store(self, domain: Literal["scores"]) -> ScoresStorage | None: ...
    @overload
    async def get_store(self, domain: Literal["observability"]) -> ObservabilityStorage | None: ...
    @overload
    async def get_store(self, domain: Literal["agents"]) -> AgentsStorage | None: ...
    @overload
    async def get_store(self, domain: Literal["thread_state"]) -> ThreadStateStorage | None: ...
    @overload
    async def get_store(self, domain: str) -> StorageDomain | None: ...
    async def get_store(self, domain: Any) -> StorageDomain | None:
        """The domain object (typed per domain name), or ``None`` when this store does not provide it."""
        if domain not in DOMAIN_NAMES:
            raise ValidationError(
                id="MASTRA_STORAGE_GET_STORE_INVALID_DOMAIN",
                field="domain",
                reason=f"unknown domain {domain!r}; expected one of {', '.join(DOMAIN_NAMES)}",
            )
        return self.stores.get(domain)

    # Typed shortcuts: ``store.memory.save_thread(...)``.
    @property
    def memory(self) -> MemoryStorage:
        """The memory domain (threads, messages, resources); raises when this store has none."""
        return self._typed("memory", MemoryStorage)  # type: ignore[type-abstract]

    @property
    def workflows(self) -> WorkflowsStorage:
        """The workflows domain (snapshots of runs); raises when this store has none."""
        return self._typed("workflows", WorkflowsStorage)  # type: ignore[type-abstract]

    @property
    def scores(self) -> ScoresStorage:
        """The scores domain (eval results); raises when this store has none."""
        return self._typed("scores", ScoresStorage)  # type: ignore[type-abstract]

    @property
    def observability(self) -> ObservabilityStorage:
        """The observability domain (trace spans); raises when this store has none."""
        return self._typed("observability", ObservabilityStorage)  # type: ignore[type-abstract]

    @property
    def agents(self) -> AgentsStorage:
        """The agents domain (stored agent configurations); raises when this store has none."""
        return self._typed("agents", AgentsStorage)  # type: ignore[type-abstract]

    @property
    def thread_state(self) -> ThreadStateStorage:
        """The thread-state domain (per-thread JSON state by type); :class:`NotSupportedError` when this store
        has none (a SQL store pinned to the 1.0.0-beta layout, DynamoDB for now)."""
        domain = self.stores.get("thread_state")
        if domain is None:
            raise NotSupportedError(
                id="MASTRA_STORAGE_THREAD_STATE_NOT_SUPPORTED",
                category=ErrorCategory.SYSTEM,
                text=f"{type(self).__name__} {self.id!r} has no thread_state domain",
            )
        assert isinstance(domain, ThreadStateStorage)
        return domain

    def _typed(self, name: DomainName, cls: type[D]) -> D:
        domain = self.stores.get(name)
        if domain is None:
            raise ValidationError(
                id="MASTRA_STORAGE_GET_STORE_MISSING_DOMAIN",
                field="domain",
                reason=f"{type(self).__name__} {self.id!r} has no {name} domain",
            )
        assert isinstance(domain, cls)
        return domain

    async def init(self) -> None:
        """Initialise every domain concurrently; idempotent (cached after the first success)."""
        if self._initialized:
            return
        async with self._init_lock:
            if self._initialized:
                return
            await self._before_domains_init()
            await asyncio.gather(*(part.init() for part in self._parts()))
            self._initialized = True

    def _parts(self) -> list[Any]:
        """What ``init()``/``close()`` drive, each once: the distinct domains (the composite: its backends)."""
        return list({id(d): d for d in self.stores.values()}.values())

    async def _before_domains_init(self) -> None:
        """Backend hook run once before the domains initialise (e.g. migrate the schema)."""

    async def close(self) -> None:
        """Release connections the store opened (never an engine or client it was given)."""
        for part in self._parts():
            await part.close()
        self._initialized = False

    async def __aenter__(self) -> Self:
        await self.init()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, domains={sorted(self.stores)})"

    # -- index management (spec §1.12); the SQL stores override these ---------------------------------
    async def create_index(self, options: CreateIndexOptions | dict[str, Any]) -> None:
        """Create an index (no-op when one of that name exists). Not supported by this store."""
        raise index_not_supported("CREATE_INDEX")

    async def drop_index(self, name: str) -> None:
        """Drop an index (no-op when missing). Not supported by this store."""
        raise index_not_supported("DROP_INDEX")

    async def list_indexes(self, table_name: str | None = None) -> list[IndexInfo]:
        """Indexes of the store, optionally of one table. Not supported by this store."""
        raise index_not_supported("LIST_INDEXES")

    async def describe_index(self, name: str) -> StorageIndexStats:
        """One index with its usage statistics. Not supported by this store."""
        raise index_not_supported("DESCRIBE_INDEX")

    def default_index_definitions(self) -> list[CreateIndexOptions]:
        """The indexes this store creates by itself (none here)."""
        return []


def index_not_supported(operation: str) -> NotSupportedError:
    return NotSupportedError(
        id=f"MASTRA_STORAGE_{operation}_NOT_SUPPORTED",
        category=ErrorCategory.SYSTEM,
        text="Index management is not supported by this storage adapter",
    )
