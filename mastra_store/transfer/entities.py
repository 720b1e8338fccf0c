"""The entities a copy moves, in write order, and the per-record checksum that verifies it.

Records travel as the library's own pydantic records (``StorageThread``, ``MastraDBMessage``…): every backend
already reads its rows/items into them and writes them back, so a copy between any two backends is
"read records here, write records there". The checksum is over Mastra's JSON shape of each record with times
cut to milliseconds (what every backend keeps; DynamoDB stores ISO strings with milliseconds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeAlias

import orjson
from pydantic import BaseModel

from .._time import to_utc
from ..domains import DOMAIN_NAMES, DomainName

__all__ = (
    "ENTITIES",
    "Counts",
    "Entity",
    "OlderKeys",
    "canonical_digest",
    "cascade_of",
    "entities_for",
    "in_window",
    "record_digest",
    "record_key",
)

#: ``await next_batch(limit)``: the next keys (at most ``limit``) of records a retention policy deletes; the
#: endpoint keeps its place between calls (retention deletes each batch before asking for the next).
OlderKeys: TypeAlias = Callable[[int], Awaitable[list[tuple[Any, ...]]]]
#: Rows per table (a retention count or delete: the entity's table, then the tables its deletes cascade to).
Counts: TypeAlias = dict[str, int]


@dataclass(frozen=True)
class Entity:
    """One kind of record: its domain, SQL table, key fields (record attribute names) and its time field."""

    name: str
    domain: DomainName
    table: str
    key: tuple[str, ...]
    #: The SQL key columns, in ``key`` order.
    key_columns: tuple[str, ...]
    #: Record attribute and SQL column ``--since`` and retention compare against.
    time_field: str
    time_column: str
    #: DynamoDB entity name (``__edb_e__``).
    ddb_entity: str
    #: Fields (Mastra JSON names) left out of the checksum: values the destination sets itself.
    unverified: tuple[str, ...] = ()
    #: Only stores on the Mastra 1.x layout have this table (a beta.13 SQL store: nothing to read).
    v1_only: bool = False


ENTITIES: Final[tuple[Entity, ...]] = (
    Entity("resources", "memory", "mastra_resources", ("id",), ("id",), "updated_at", "updatedAt", "resource"),
    Entity("threads", "memory", "mastra_threads", ("id",), ("id",), "updated_at", "updatedAt", "thread"),
    Entity("messages", "memory", "mastra_messages", ("id",), ("id",), "created_at", "createdAt", "message"),
    # Mastra 1.x, after the threads they belong to: every generation of every thread's and resource's memory, and
    # each thread's typed state (memory_v1.py). ``--since`` compares ``updatedAt`` (a record changes in place).
    Entity(
        "observational_memory",
        "memory",
        "mastra_observational_memory",
        ("id",),
        ("id",),
        "updated_at",
        "updatedAt",
        "observational_memory",
        v1_only=True,
    ),
    Entity(
        "thread_state",
        "thread_state",
        "mastra_thread_state",
        ("thread_id", "type"),
        ("threadId", "type"),
        "updated_at",
        "updatedAt",
        "thread_state",
        v1_only=True,
    ),
    Entity(
        "workflow_snapshots",
        "workflows",
        "mastra_workflow_snapshot",
        ("workflow_name", "run_id"),
        ("workflow_name", "run_id"),
        "updated_at",
        "updatedAt",
        "workflow_snapshot",
    ),
    Entity("scores", "scores", "mastra_scorers", ("id",), ("id",), "created_at", "createdAt", "score"),
    Entity(
        "spans",
        "observability",
        "mastra_ai_spans",
        ("trace_id", "span_id"),
        ("traceId", "spanId"),
        "started_at",
        "startedAt",
        "ai_span",
        # PostgreSQL's mastra_ai_spans trigger (Mastra 1.x) stamps both with the time of the insert.
        ("createdAt", "updatedAt"),
    ),
    # Stores on the 1.0.0-beta tables (and DynamoDB's own beta items): one wide row per agent, no versions.
    Entity("beta_agents", "agents", "mastra_agents", ("id",), ("id",), "updated_at", "updatedAt", "agent"),
    # Mastra 1.x: each agent with every one of its versions (agents.py).
    Entity("agents", "agents", "mastra_agents", ("id",), ("id",), "updated_at", "updatedAt", "versioned_agent"),
)


def cascade_of(entity: Entity) -> tuple[Entity, ...]:
    """What a retention delete of ``entity`` rows takes with them: a thread its thread-scoped observational
    memory (as ``delete_thread`` does; Mastra 1.x has no retention of its own for it)."""
    if entity.name != "threads":
        return ()
    return tuple(e for e in ENTITIES if e.name == "observational_memory")


def entities_for(domains: list[str] | None) -> list[Entity]:
    """The entities of ``domains`` (all when empty), in write order; unknown names raise ``ValueError``."""
    if not domains:
        return list(ENTITIES)
    unknown = sorted(set(domains) - set(DOMAIN_NAMES))
    if unknown:
        raise ValueError(f"unknown domain {unknown[0]!r}; expected some of {', '.join(DOMAIN_NAMES)}")
    return [e for e in ENTITIES if e.domain in domains]


def in_window(when: Any, since: datetime | None, before: datetime | None) -> bool:
    """``since <= when < before`` (either bound optional); with a bound, a record without a time is outside."""
    if since is None and before is None:
        return True
    if not isinstance(when, datetime):
        return False
    return (since is None or to_utc(when) >= to_utc(since)) and (before is None or to_utc(when) < to_utc(before))


def record_key(entity: Entity, record: BaseModel) -> tuple[str, ...]:
    return tuple(str(getattr(record, f)) for f in entity.key)


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_none=True)
    raise TypeError(type(value).__name__)


def record_digest(record: BaseModel, skip: tuple[str, ...] = ()) -> int:
    """A 64-bit digest of the record's content; the per-entity checksum is their sum mod 2**64 (order-free)."""
    data = record.model_dump(by_alias=True, exclude_none=True)
    for name in skip:
        data.pop(name, None)
    return canonical_digest(data)


def canonical_digest(data: dict[str, Any]) -> int:
    """64-bit digest of a JSON-able mapping (sorted keys, datetimes at millisecond precision, in UTC)."""
    # Every backend reads times as aware UTC at millisecond precision (``_time.from_db``/``parse_iso``), so
    # orjson's own rendering is canonical; naive values are taken as UTC.
    blob = orjson.dumps(data, default=_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big")
