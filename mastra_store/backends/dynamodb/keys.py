"""ElectroDB key builders for the single-table layout of ``@mastra/dynamodb`` (spec dynamodb.md §2).

Pure functions, no I/O. Grammar (service ``mastra``, version ``1``, default lower-case key casing)::

    pk  = lower("$mastra" + SEG(pk composites))
    sk  = lower("$" + entity + "_1" + SEG(sk composites))
    SEG = "".join("#" + name + "_" + text(value) for name in composites)

Attribute *names* go in verbatim and the whole string is lower-cased with JS ``toLowerCase`` semantics
(Python ``str.lower``, never ``casefold``). Partial keys stop at the first missing composite and are used with
``begins_with``.

The first seven entities are the reference's (1.0.0); ``ai_span``, ``agent``, the versioned agents' three,
``observational_memory`` and ``thread_state`` are this port's own entities in the same grammar (see
ACCESS_PATTERNS.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = (
    "EDB_ENTITY",
    "EDB_VERSION",
    "ENTITIES",
    "KEY_ATTRIBUTES",
    "EntityModel",
    "IndexModel",
    "MissingCompositeError",
    "full_sort_key",
    "index_key_names",
    "item_for",
    "key_attributes",
    "pk_of",
    "primary_key",
    "query_prefix",
    "sk_of",
)

SERVICE = "mastra"
VERSION = "1"
EDB_ENTITY = "__edb_e__"
EDB_VERSION = "__edb_v__"


class MissingCompositeError(ValueError):
    """A composite attribute of some key of the entity was not supplied (ElectroDB refuses such writes)."""


@dataclass(frozen=True, slots=True)
class IndexModel:
    """One access pattern: ``index`` is ``""`` for the table itself, else ``gsi<n>``."""

    name: str
    index: str
    pk: tuple[str, ...]
    sk: tuple[str, ...]

    @property
    def pk_field(self) -> str:
        return f"{self.index}pk" if self.index else "pk"

    @property
    def sk_field(self) -> str:
        return f"{self.index}sk" if self.index else "sk"


@dataclass(frozen=True, slots=True)
class EntityModel:
    name: str
    primary: IndexModel
    indexes: tuple[IndexModel, ...] = field(default_factory=tuple)
    #: Composite -> width: the value is zero-padded to that width in keys (ElectroDB's attribute option
    #: ``padding: {length, char: "0"}``), so numbers sort numerically.
    padding: Mapping[str, int] = field(default_factory=dict, hash=False)

    def index(self, name: str) -> IndexModel:
        """The access pattern by its name (``byThread``) or its index (``gsi1``)."""
        for ix in (self.primary, *self.indexes):
            if name in (ix.name, ix.index):
                return ix
        raise KeyError(f"entity {self.name} has no index {name!r}")

    @property
    def composites(self) -> frozenset[str]:
        out: set[str] = set()
        for ix in (self.primary, *self.indexes):
            out.update(ix.pk)
            out.update(ix.sk)
        return frozenset(out)


def _e(
    name: str,
    pk: tuple[str, ...],
    sk: tuple[str, ...],
    *gsis: tuple[str, int, tuple[str, ...], tuple[str, ...]],
    padding: Mapping[str, int] | None = None,
) -> EntityModel:
    return EntityModel(
        name=name,
        primary=IndexModel("primary", "", ("entity", *pk), sk),
        indexes=tuple(IndexModel(n, f"gsi{i}", ("entity", *p), s) for n, i, p, s in gsis),
        padding=dict(padding or {}),
    )


_CREATED = ("createdAt",)
#: Digits of a version number in keys (up to 9,999,999,999 versions sort numerically).
VERSION_NUMBER_WIDTH = 10
ENTITIES: dict[str, EntityModel] = {
    m.name: m
    for m in (
        _e("thread", ("id",), ("id",), ("byResource", 1, ("resourceId",), _CREATED)),
        _e("message", ("id",), ("entity",), ("byThread", 1, ("threadId",), _CREATED)),
        _e("resource", ("id",), ("entity",)),
        _e(
            "workflow_snapshot",
            ("workflow_name",),
            ("run_id",),
            ("gsi2", 2, ("run_id",), ("workflow_name",)),
        ),
        _e(
            "score",
            ("id",),
            ("entity",),
            ("byScorer", 1, ("scorerId",), _CREATED),
            ("byRun", 2, ("runId",), _CREATED),
            ("byTrace", 3, ("traceId",), _CREATED),
            ("byEntityData", 4, ("entityId",), _CREATED),
            ("byResource", 5, ("resourceId",), _CREATED),
            ("byThread", 6, ("threadId",), _CREATED),
            ("bySpan", 7, ("traceId", "spanId"), _CREATED),
        ),
        _e(
            "trace",
            ("id",),
            (),
            ("byName", 1, ("name",), ("startTime",)),
            ("byScope", 2, ("scope",), ("startTime",)),
        ),
        _e("eval", ("run_id",), (), ("byAgent", 1, ("agent_name",), ("created_at",))),
        # -- this port's own entities (no 1.0.0 counterpart) ------------------------------------------
        # All spans of a trace share one partition; roots have parentSpanId "" and so share gsi1's
        # "$mastra#entity_ai_span#parentspanid_" partition, ordered by start time.
        _e("ai_span", ("traceId",), ("spanId",), ("byParent", 1, ("parentSpanId",), ("startedAt",))),
        # Every agent in one gsi1/gsi2 partition (agent counts are small), ordered by createdAt / updatedAt.
        _e(
            "agent",
            ("id",),
            ("entity",),
            ("byCreated", 1, (), _CREATED),
            ("byUpdated", 2, (), ("updatedAt",)),
        ),
        # Mastra 1.x's versioned agents (agents_v1.py): the thin record, its versions (one partition per agent,
        # numbered; the key makes a number unique) and a pointer per version id (makes an id unique, finds it).
        _e(
            "versioned_agent",
            ("id",),
            ("entity",),
            ("byCreated", 1, (), _CREATED),
            ("byUpdated", 2, (), ("updatedAt",)),
        ),
        _e("agent_version", ("agentId",), ("versionNumber",), padding={"versionNumber": VERSION_NUMBER_WIDTH}),
        _e("agent_version_id", ("id",), ("entity",)),
        # One item per generation, by id; gsi1 holds a lookup key's generations ("thread:<id>" or
        # "resource:<id>", 1.27.1's lookupKey) ordered by generation (padded: numeric order), then creation time.
        _e(
            "observational_memory",
            ("id",),
            ("entity",),
            ("byLookupKey", 1, ("lookupKey",), ("generationCount", "createdAt")),
            padding={"generationCount": VERSION_NUMBER_WIDTH},
        ),
        # A thread's states share its partition (deleting the thread queries one partition).
        _e("thread_state", ("threadId",), ("type",)),
    )
}

#: Every key attribute name the table may hold.
KEY_ATTRIBUTES: tuple[str, ...] = ("pk", "sk", *(f"gsi{n}{k}" for n in range(1, 8) for k in ("pk", "sk")))


def _text(value: Any) -> str:
    """JS template-literal formatting of a composite value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        f = float(value)
        return str(int(f)) if f.is_integer() else repr(f)
    return str(value)


def _build(
    prefix: str,
    composites: tuple[str, ...],
    values: Mapping[str, Any],
    *,
    partial: bool,
    padding: Mapping[str, int] | None = None,
) -> str:
    out = prefix
    for name in composites:
        value = values.get(name)
        if value is None:
            if partial:
                # ElectroDB stops at the first missing composite and keeps the label: "...#createdat_".
                return (out + "#" + name + "_").lower()
            raise MissingCompositeError(f"missing composite attribute {name!r}")
        text = _text(value)
        if padding and name in padding:
            text = text.rjust(padding[name], "0")
        out += "#" + name + "_" + text
    return out.lower()


def _with_entity(model: EntityModel, values: Mapping[str, Any]) -> dict[str, Any]:
    return {**values, "entity": model.name}


def pk_of(entity: str, values: Mapping[str, Any], index: str = "primary") -> str:
    model = ENTITIES[entity]
    ix = model.index(index)
    return _build("$" + SERVICE, ix.pk, _with_entity(model, values), partial=False, padding=model.padding)


def sk_of(entity: str, values: Mapping[str, Any], index: str = "primary") -> str:
    model = ENTITIES[entity]
    ix = model.index(index)
    vals = _with_entity(model, values)
    return _build(f"${model.name}_{VERSION}", ix.sk, vals, partial=False, padding=model.padding)


def primary_key(entity: str, values: Mapping[str, Any]) -> dict[str, str]:
    """``{"pk": ..., "sk": ...}`` of the item."""
    return {"pk": pk_of(entity, values), "sk": sk_of(entity, values)}


def index_key_names(entity: str) -> list[tuple[IndexModel, str, str]]:
    model = ENTITIES[entity]
    return [(ix, ix.pk_field, ix.sk_field) for ix in (model.primary, *model.indexes)]


def key_attributes(entity: str, values: Mapping[str, Any], *, only: set[str] | None = None) -> dict[str, str]:
    """Every key field (pk, sk, gsi<n>pk/sk) of the entity. ``only`` restricts to keys whose composites include
    one of those attribute names (ElectroDB's ``update().set()`` recomputes just those)."""
    model = ENTITIES[entity]
    vals = _with_entity(model, values)
    out: dict[str, str] = {}
    for ix in (model.primary, *model.indexes):
        if only is None or set(ix.pk) & only:
            out[ix.pk_field] = _build("$" + SERVICE, ix.pk, vals, partial=False, padding=model.padding)
        if only is None or set(ix.sk) & only:
            out[ix.sk_field] = _build(f"${model.name}_{VERSION}", ix.sk, vals, partial=False, padding=model.padding)
    return out


def item_for(entity: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes plus ``entity``, every key field and the ElectroDB identifiers.

    Raises:
        MissingCompositeError: a composite of some index is missing (the item would be sparse).
    """
    model = ENTITIES[entity]
    item = {k: v for k, v in attributes.items() if v is not None}
    item["entity"] = model.name
    item.update(key_attributes(entity, item))
    item[EDB_ENTITY] = model.name
    item[EDB_VERSION] = VERSION
    return item


def query_prefix(entity: str, index: str, values: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """``(pk field, pk value, sk field, sk prefix)`` for a ``pk = X AND begins_with(sk, prefix)`` query.

    The pk must be complete; the sk is built up to the first missing composite.
    """
    model = ENTITIES[entity]
    ix = model.index(index)
    vals = _with_entity(model, values)
    pk = _build("$" + SERVICE, ix.pk, vals, partial=False, padding=model.padding)
    sk = _build(f"${model.name}_{VERSION}", ix.sk, vals, partial=True, padding=model.padding)
    return ix.pk_field, pk, ix.sk_field, sk


def full_sort_key(entity: str, index: str, values: Mapping[str, Any]) -> str:
    """A complete sort key of an index, for range conditions (``between``, ``>=``...)."""
    model = ENTITIES[entity]
    ix = model.index(index)
    vals = _with_entity(model, values)
    return _build(f"${model.name}_{VERSION}", ix.sk, vals, partial=False, padding=model.padding)
