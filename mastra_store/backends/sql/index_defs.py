"""The default indexes of the ``mastra_*`` tables: the reference's (spec §1.11) and those mastra_store adds so that
every list is served by an index, with the layouts and dialects that have each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .layouts import LAYOUTS, Layout

__all__ = ("DEFAULT_INDEXES", "IndexDef")


@dataclass(frozen=True, slots=True)
class IndexDef:
    """A default index: (name, table, column expressions, extra options)."""

    domain: str
    name: str
    table: str
    columns: tuple[str, ...]  # quoted column name, optionally followed by " DESC"
    method: str = "btree"
    where: str | None = None
    reference: bool = True  # False: added by mastra_store (spec README, deviation 11)
    postgres_only: bool = False
    layouts: tuple[Layout, ...] = LAYOUTS  # the layouts that have this index
    jsonb_only: bool = False  # an expression over a JSONB column: not on a TEXT-held one (beta-upgraded)
    #: On SQLite, the layouts that have it (``None``: the same as on PostgreSQL): see :data:`_SQLITE_BETA`.
    sqlite_layouts: tuple[Layout, ...] | None = None
    #: SQLite's 1.x layout has its columns ascending (revision 0006): see :data:`_SQLITE_ASCENDING`.
    sqlite_ascending: bool = False
    #: SQLite's 1.x layout's predicate, instead of ``where`` (revision 0006).
    sqlite_where: str | None = None

    def form(self, pg: bool, layout: Layout) -> tuple[tuple[str, ...], str | None]:
        """(columns, predicate) of the index on a database of this dialect (``pg``: PostgreSQL) and layout."""
        if pg or layout != "v1":
            return self.columns, self.where
        cols = tuple(c.removesuffix(" DESC") for c in self.columns) if self.sqlite_ascending else self.columns
        return cols, self.sqlite_where or self.where

    def exists(self, pg: bool, layout: Layout) -> bool:
        """Whether a database of this dialect (``pg``: PostgreSQL, else SQLite) and ``layout`` has the index."""
        if layout not in self.layouts:
            return False
        if pg:
            return True
        return not self.postgres_only and (self.sqlite_layouts is None or layout in self.sqlite_layouts)


#: ``sqlite_layouts`` of five span indexes of the reference: SQLite's 1.x layout has none of them (revision 0005,
#: issue #16). No SQLite statement uses them (``getTrace`` reads the primary key, ``list_traces`` the root-span
#: indexes on the Z columns and the entity / user ones) and each one cost every span insert. W7a, batch of 100
#: spans: SQLite CPU ~5.1 vs ~6.4 ms with them, 65 WAL pages per commit against 99 (a third fewer checkpoints);
#: ``list_traces`` 2x faster (3.3 vs 7.1 ms of CPU) as SQLite no longer picks ``parentSpanId``'s index and sorts.
_SQLITE_BETA: Final[tuple[Layout, ...]] = ("beta",)

#: ``sqlite_ascending``: indexes of tables written a row at a time in timestamp order (threads, scores, workflow
#: snapshots), kept
#: ascending on SQLite's 1.x layout (revision 0006). A B-tree is read both ways at the same cost, but with a
#: descending timestamp each new (newest) row lands at the left end of its key group, where a full page is split
#: by a general rebalance; ascending, it lands at the right end. Measured (1 000 score inserts into 3 000, their
#: five indexes; WAL frames are pages written per commit): 9.47 -> 8.05 frames and 47 -> 41 µs an insert; the
#: trace index's ``sqlite_where`` (scores without a trace, most of them, are not in it): 6.8 frames, 36-37 µs.
#: A snapshot insert (W6a): 9.64 -> 9.19 frames.
#: Query plans are unchanged (each list reads its index backwards).
_SQLITE_ASCENDING: Final = True


#: Default indexes, spec §1.11, plus those mastra_store adds so that every list is served by an index.
DEFAULT_INDEXES: Final[tuple[IndexDef, ...]] = (
    IndexDef(
        "memory",
        "mastra_threads_resourceid_createdat_idx",
        "mastra_threads",
        ("resourceId", "createdAt DESC"),
        sqlite_ascending=_SQLITE_ASCENDING,
    ),
    IndexDef("memory", "mastra_messages_thread_id_createdat_idx", "mastra_messages", ("thread_id", "createdAt DESC")),
    IndexDef(
        "observability",
        "mastra_ai_spans_traceid_startedat_idx",
        "mastra_ai_spans",
        ("traceId", "startedAt DESC"),
        sqlite_layouts=_SQLITE_BETA,
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_parentspanid_startedat_idx",
        "mastra_ai_spans",
        ("parentSpanId", "startedAt DESC"),
        sqlite_layouts=_SQLITE_BETA,
    ),
    IndexDef("observability", "mastra_ai_spans_name_idx", "mastra_ai_spans", ("name",), sqlite_layouts=_SQLITE_BETA),
    IndexDef(
        "observability",
        "mastra_ai_spans_spantype_startedat_idx",
        "mastra_ai_spans",
        ("spanType", "startedAt DESC"),
        sqlite_layouts=_SQLITE_BETA,
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_root_spans_idx",
        "mastra_ai_spans",
        ("startedAt DESC",),
        where='"parentSpanId" IS NULL',
        sqlite_layouts=_SQLITE_BETA,
    ),
    IndexDef("observability", "mastra_ai_spans_entitytype_entityid_idx", "mastra_ai_spans", ("entityType", "entityId")),
    IndexDef(
        "observability", "mastra_ai_spans_entitytype_entityname_idx", "mastra_ai_spans", ("entityType", "entityName")
    ),
    IndexDef("observability", "mastra_ai_spans_orgid_userid_idx", "mastra_ai_spans", ("organizationId", "userId")),
    IndexDef(
        "observability",
        "mastra_ai_spans_metadata_gin_idx",
        "mastra_ai_spans",
        ("metadata",),
        method="gin",
        postgres_only=True,
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_tags_gin_idx",
        "mastra_ai_spans",
        ("tags",),
        method="gin",
        postgres_only=True,
    ),
    IndexDef(
        "scores",
        "mastra_scores_trace_id_span_id_created_at_idx",
        "mastra_scorers",
        ("traceId", "spanId", "createdAt DESC"),
        sqlite_ascending=_SQLITE_ASCENDING,
        sqlite_where='"traceId" IS NOT NULL',  # read only by trace id (list_scores_by_span)
    ),
    # --- mastra_store additions: the reference seq-scans these lists (shared/bench/floor.md §6).
    IndexDef(
        "scores",
        "mastra_scorers_runid_createdat_idx",
        "mastra_scorers",
        ("runId", "createdAt DESC"),
        reference=False,
        sqlite_ascending=_SQLITE_ASCENDING,
    ),
    IndexDef(
        "scores",
        "mastra_scorers_scorerid_createdat_idx",
        "mastra_scorers",
        ("scorerId", "createdAt DESC"),
        reference=False,
        sqlite_ascending=_SQLITE_ASCENDING,
    ),
    IndexDef(
        "scores",
        "mastra_scorers_entityid_entitytype_createdat_idx",
        "mastra_scorers",
        ("entityId", "entityType", "createdAt DESC"),
        reference=False,
        sqlite_ascending=_SQLITE_ASCENDING,
    ),
    IndexDef(
        "workflows",
        "mastra_workflow_snapshot_createdat_idx",
        "mastra_workflow_snapshot",
        ("createdAt DESC",),
        reference=False,
        sqlite_ascending=_SQLITE_ASCENDING,
    ),
    IndexDef(
        "workflows", "mastra_workflow_snapshot_run_id_idx", "mastra_workflow_snapshot", ("run_id",), reference=False
    ),
    IndexDef(
        "workflows",
        "mastra_workflow_snapshot_resourceid_createdat_idx",
        "mastra_workflow_snapshot",
        ("resourceId", "createdAt DESC"),
        reference=False,
        sqlite_ascending=_SQLITE_ASCENDING,
    ),
    IndexDef(
        "memory",
        "mastra_threads_resourceid_updatedat_idx",
        "mastra_threads",
        ("resourceId", "updatedAt DESC"),
        reference=False,
        sqlite_ascending=_SQLITE_ASCENDING,
    ),
    IndexDef("agents", "mastra_agents_createdat_idx", "mastra_agents", ("createdAt DESC",), reference=False),
    # --- revision 0002
    IndexDef("agents", "mastra_agents_updatedat_idx", "mastra_agents", ("updatedAt DESC",), reference=False),
    IndexDef(
        "workflows",
        "mastra_workflow_snapshot_workflow_name_createdat_idx",
        "mastra_workflow_snapshot",
        ("workflow_name", "createdAt DESC"),
        reference=False,
        layouts=("beta",),  # 1.x has the same index as mastra_workflow_snapshot_name_createdat_idx
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_root_startedatz_idx",
        "mastra_ai_spans",
        ("startedAtZ DESC",),
        where='"parentSpanId" IS NULL',
        reference=False,
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_root_endedatz_idx",
        "mastra_ai_spans",
        ("endedAtZ DESC",),
        where='"parentSpanId" IS NULL',
        reference=False,
    ),
    # --- revision 0003: @mastra/pg 1.27.1
    IndexDef(
        "workflows",
        "mastra_workflow_snapshot_name_createdat_idx",
        "mastra_workflow_snapshot",
        ("workflow_name", "createdAt DESC"),
        layouts=("v1",),
        sqlite_ascending=_SQLITE_ASCENDING,
    ),
    IndexDef(
        "workflows",
        "mastra_workflow_snapshot_name_status_createdat_idx",
        "mastra_workflow_snapshot",
        ("workflow_name", "(snapshot ->> 'status')", "createdAt DESC"),
        postgres_only=True,
        layouts=("v1",),
        jsonb_only=True,
    ),
    IndexDef(
        "workflows",
        "mastra_workflow_snapshot_threadid_idx",
        "mastra_workflow_snapshot",
        (
            '(COALESCE(jsonb_path_query_first(snapshot, \'$.context.* ? (@.status == "suspended")'
            ".suspendPayload.__streamState.messageList.memoryInfo.threadId') #>> '{}', "
            "snapshot #>> '{context,input,messageListState,memoryInfo,threadId}'))",
        ),
        postgres_only=True,
        layouts=("v1",),
        jsonb_only=True,
    ),
    IndexDef(
        "agents",
        "mastra_agent_versions_agentid_versionnumber_idx",
        "mastra_agent_versions",
        ("agentId", "versionNumber DESC"),
        reference=False,
        layouts=("v1",),
    ),
)

