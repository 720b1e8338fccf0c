"""Retention: age-based pruning of the tables that grow by themselves (Mastra 1.x ``retention`` / ``prune()``).

A :class:`RetentionPolicy` says, per domain and table, how long rows are kept::

    policy = RetentionPolicy({"memory": {"messages": {"maxAge": "30d"}, "threads": {"maxAge": "90d"}},
                              "observability": {"spans": {"maxAge": "7d", "batchSize": 500}}})
    store = SqliteStore(id="app", retention=policy)          # or PostgresStore / DynamoDBStore / InMemoryStore
    results = await store.prune()                             # [PruneResult(domain, table, deleted, done)]
    results = await prune(store, policy, dry_run=True)        # what would go (``eligible``), nothing deleted

Same keys, anchors and order as Mastra's reference adapters (@mastra/pg 1.27.1): ``memory.messages`` /
``memory.resources`` / ``memory.threads`` (``createdAt``; pruned in that order), ``observability.spans``
(``startedAt``), ``scores.scorers`` (``createdAt``), ``workflows.workflowSnapshot`` (``updatedAt``),
``threadState.threadState`` (``updatedAt``: the last write; ``thread_state`` is accepted for the domain key too).
A row is eligible when its anchor is strictly older than ``now - maxAge``. Durations are milliseconds (int) or
``<n>ms|s|m|h|d|w``. Agents are user-authored configuration and never pruned.

Pruning a thread does not delete its messages or its thread state (as in Mastra: give those policies of their
own; a pruned thread's state is no longer written, so a ``threadState`` policy ages it out). It does delete the
thread's thread-scoped observational memory, in the same batch, as ``delete_thread`` does: Mastra 1.x has no
retention for observational memory ("no timestamp anchor", deliberately excluded), so without this a pruned
thread's memory would stay forever. Those records get a result row of their own, right after the threads' row
(``memory`` / ``mastra_observational_memory``): a dry run counts the records of the eligible threads, a real run
reports the records it deleted (SQL: one statement per count or batch, by lookup key; DynamoDB: the threads'
Scan passes the memory items too; their ``done`` is the threads'). Resource-scoped observational memory is never
pruned nor counted; a store on the 1.0.0-beta tables (no such table) has no such row.

Deletes run in batches of ``batchSize`` rows (default 1000), each batch its own short transaction (SQL: the
keys are selected first, then deleted by key) or ``BatchWriteItem`` (DynamoDB), so no statement holds locks
for long; ``max_batches`` / ``max_rows`` bound one call and ``done=False`` says rows remain.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from .errors import ErrorCategory, MastraError
from .log import get_logger

if TYPE_CHECKING:
    from .store import BaseStore
    from .transfer.entities import Entity

__all__ = (
    "RETENTION_TABLES",
    "PruneResult",
    "RetentionInput",
    "RetentionPolicy",
    "TableRetentionPolicy",
    "parse_duration",
    "prune",
)

log = get_logger("retention")

Duration = int | float | str
_UNIT_MS: Final = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")


def _bad(field_name: str, reason: str) -> MastraError:
    return MastraError(
        id="MASTRA_STORAGE_RETENTION_INVALID_CONFIG",
        category=ErrorCategory.USER,
        text=f"Invalid retention {field_name}: {reason}",
        details={"field": field_name, "reason": reason},
    )


def parse_duration(value: Duration, field_name: str = "maxAge") -> timedelta:
    """Milliseconds (a number) or ``<n>ms|s|m|h|d|w`` (Mastra's ``parseDuration``)."""
    if isinstance(value, bool):
        raise _bad(field_name, "expected milliseconds or a string like '30d'")
    if isinstance(value, int | float):
        if value < 0 or value != value:
            raise _bad(field_name, "must be a non-negative number of milliseconds")
        return timedelta(milliseconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return timedelta(milliseconds=float(m.group(1)) * _UNIT_MS[m.group(2)])
    raise _bad(field_name, f"{value!r} is not a duration (milliseconds, or e.g. '500ms', '12h', '30d', '2w')")


@dataclass(frozen=True)
class TableRetentionPolicy:
    """Keep rows for ``max_age``; delete ``batch_size`` rows per transaction."""

    max_age: timedelta
    batch_size: int = 1000

    @classmethod
    def of(cls, value: Any, where: str) -> TableRetentionPolicy:
        """A table's policy from its mapping form (``maxAge``, ``batchSize``); USER error naming ``where`` otherwise."""
        if isinstance(value, TableRetentionPolicy):
            return value
        if not isinstance(value, Mapping):
            raise _bad(where, "expected {'maxAge': ..., 'batchSize': ...}")
        unknown = sorted(set(value) - {"maxAge", "max_age", "batchSize", "batch_size"})
        if unknown:
            raise _bad(f"{where}.{unknown[0]}", "unknown option (expected maxAge, batchSize)")
        raw_age = value.get("maxAge", value.get("max_age"))
        if raw_age is None:
            raise _bad(f"{where}.maxAge", "is required")
        age = raw_age if isinstance(raw_age, timedelta) else parse_duration(raw_age, f"{where}.maxAge")
        batch = value.get("batchSize", value.get("batch_size", 1000))
        if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 100_000:
            raise _bad(f"{where}.batchSize", "must be an int between 1 and 100000")
        return cls(age, batch)


@dataclass(frozen=True)
class _Table:
    #: Mastra's domain key (in the policy mapping and in each :class:`PruneResult`)
    domain: str
    key: str
    entity: str
    #: record attribute / SQL column the age is measured on
    field: str
    column: str
    #: the store domain holding the table, when it is not spelt like Mastra's key
    store_domain: str | None = None

    @property
    def holder(self) -> str:
        """The store domain (``store.stores[...]``, ``--domains``) that holds this table."""
        return self.store_domain or self.domain


#: (domain, table key) in prune order → the entity and its anchor (Mastra's ``retentionTables``).
RETENTION_TABLES: Final[tuple[_Table, ...]] = (
    _Table("memory", "messages", "messages", "created_at", "createdAt"),
    _Table("memory", "resources", "resources", "created_at", "createdAt"),
    _Table("memory", "threads", "threads", "created_at", "createdAt"),
    _Table("observability", "spans", "spans", "started_at", "startedAt"),
    _Table("scores", "scorers", "scores", "created_at", "createdAt"),
    _Table("workflows", "workflowSnapshot", "workflow_snapshots", "updated_at", "updatedAt"),
    # @mastra/pg 1.27.1 ThreadStatePG: anchored on the last write, so the state of a live thread stays.
    _Table("threadState", "threadState", "thread_state", "updated_at", "updatedAt", "thread_state"),
)
_KEYS: Final = {(t.domain, t.key): t for t in RETENTION_TABLES}
#: Our spelling of a domain whose Mastra key differs (``thread_state`` -> ``threadState``).
_DOMAIN_ALIASES: Final = {t.store_domain: t.domain for t in RETENTION_TABLES if t.store_domain}


@dataclass(frozen=True)
class RetentionPolicy:
    """Per-domain, per-table retention (``{"memory": {"messages": {"maxAge": "30d"}}}``); unset = kept forever."""

    tables: Mapping[tuple[str, str], TableRetentionPolicy] = field(default_factory=dict)

    def __init__(self, config: Mapping[str, Mapping[str, Any]] | RetentionPolicy | None = None) -> None:
        if isinstance(config, RetentionPolicy):
            object.__setattr__(self, "tables", dict(config.tables))
            return
        tables: dict[tuple[str, str], TableRetentionPolicy] = {}
        if config is not None and not isinstance(config, Mapping):
            raise _bad("retention", "expected a mapping of domain -> table -> policy")
        for domain, per_table in (config or {}).items():
            if not isinstance(per_table, Mapping):
                raise _bad(str(domain), "expected a mapping of table -> policy")
            domain = _DOMAIN_ALIASES.get(domain, domain)
            for key, value in per_table.items():
                if (domain, key) not in _KEYS:
                    valid = ", ".join(f"{d}.{k}" for d, k in _KEYS)
                    raise _bad(f"{domain}.{key}", f"not a retention table (one of {valid})")
                tables[(domain, key)] = TableRetentionPolicy.of(value, f"{domain}.{key}")
        object.__setattr__(self, "tables", tables)

    @classmethod
    def older_than(cls, age: Duration | timedelta, domains: list[str] | None = None, batch_size: int = 1000) -> Any:
        """The same ``max_age`` for every retention table (of ``domains``, default all) — the CLI's ``prune``."""
        max_age = age if isinstance(age, timedelta) else parse_duration(age, "older_than")
        policy = TableRetentionPolicy(max_age, batch_size)
        chosen = [t for t in RETENTION_TABLES if not domains or t.holder in domains or t.domain in domains]
        out = cls()
        object.__setattr__(out, "tables", {(t.domain, t.key): policy for t in chosen})
        return out

    def __bool__(self) -> bool:
        return bool(self.tables)


@dataclass
class PruneResult:
    """Mastra's ``PruneResult``: rows deleted from one table in this call; ``done=False``: eligible rows remain
    (a table pruned with another, the threads' observational memory: when rows of that one remain)."""

    domain: str
    table: str
    deleted: int
    done: bool
    #: dry run: rows that would be deleted (the count of eligible rows)
    eligible: int | None = None


#: What ``retention=`` accepts: a policy, its mapping form, or ``None`` (keep everything).
RetentionInput = RetentionPolicy | Mapping[str, Mapping[str, Any]] | None


def _entity(name: str) -> Entity:
    from .transfer.entities import ENTITIES

    return next(e for e in ENTITIES if e.name == name)


async def prune(
    store: BaseStore,
    retention: RetentionPolicy | Mapping[str, Mapping[str, Any]] | None = None,
    *,
    max_batches: int | None = None,
    max_rows: int | None = None,
    pause_ms: float = 0,
    cancel: asyncio.Event | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[PruneResult]:
    """Delete rows older than their table's ``maxAge`` (``retention``, else the store's own policy).

    One result per configured table, in prune order (threads followed by their observational memory).
    ``dry_run`` counts the eligible rows and deletes nothing.
    ``max_batches``/``max_rows`` bound the work per table, ``pause_ms`` sleeps between batches, ``cancel`` stops
    between batches; in each of those cases ``done`` is ``False``.
    """
    policy = RetentionPolicy(retention) if retention is not None else getattr(store, "retention", None)
    if not policy:
        return []
    for name, value in (("max_batches", max_batches), ("max_rows", max_rows)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise _bad(name, "must be a positive int")
    from .transfer import endpoint_for

    await store.init()
    moment = now or datetime.now(UTC)
    results: list[PruneResult] = []
    for table in RETENTION_TABLES:
        table_policy = policy.tables.get((table.domain, table.key))
        domain_store = store.stores.get(table.holder)  # type: ignore[call-overload]
        if table_policy is None or domain_store is None:
            continue
        backend = _backend_of(store, table.holder)
        ep = endpoint_for(backend)
        entity = _entity(table.entity)
        cutoff = moment - table_policy.max_age
        # The table's row, then one per table its deletes cascade to (threads: their observational memory).
        rows = [(table.domain, entity.table), *((e.domain, e.table) for e in ep.cascade(entity))]
        if dry_run:
            counts = await ep.count_older(entity, cutoff, table.column, table.field)
            results += [PruneResult(d, t, 0, counts[t] == 0, eligible=counts[t]) for d, t in rows]
            continue
        totals = dict.fromkeys((t for _, t in rows), 0)
        batches, done = 0, False
        next_keys = ep.older_keys(entity, cutoff, table.column, table.field)
        while True:
            deleted = totals[entity.table]
            if cancel is not None and cancel.is_set():
                break
            if (max_batches is not None and batches >= max_batches) or (max_rows is not None and deleted >= max_rows):
                break
            limit = table_policy.batch_size if max_rows is None else min(table_policy.batch_size, max_rows - deleted)
            keys = await next_keys(limit)
            if keys:
                for name, n in (await ep.delete(entity, keys)).items():
                    totals[name] += n
                batches += 1
            if len(keys) < limit:
                done = True
                break
            if pause_ms:
                await asyncio.sleep(pause_ms / 1000)
        log.info("pruned %d rows of %s.%s (done=%s)", totals[entity.table], table.domain, table.key, done)
        for _, t in rows[1:]:
            log.info("pruned %d rows of %s with them", totals[t], t)
        # A cascaded table is done when the table it follows is: what remains goes with the rows that remain.
        results += [PruneResult(d, t, totals[t], done) for d, t in rows]
    return results


def _backend_of(store: BaseStore, domain: str) -> BaseStore:
    """The store that really holds ``domain`` (a composite routes each domain to one of its backends)."""
    from .store import BaseStore

    target = store.stores.get(domain)  # type: ignore[call-overload]
    for backend in getattr(store, "backends", None) or []:
        if isinstance(backend, BaseStore) and backend.stores.get(domain) is target:  # type: ignore[call-overload]
            return backend
    return store
