"""The workflows contract: snapshots of suspended workflow runs (spec §2.2)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from .. import _json
from .._time import now as utc_now
from .._time import parse_datetime, to_epoch_ms
from ..errors import ErrorCategory, MastraError, ValidationError
from ..records._construct import construct
from ..records._policy import STRIPPED
from ..records.workflows import WorkflowRun, WorkflowRuns, WorkflowStateUpdate
from ..types import MAX_SAFE_INTEGER, normalize_per_page
from ._validate import coerce, require_int, require_json, require_object, require_object_encoded, require_str
from .base import DomainName, StorageDomain

__all__ = ("RunQuery", "SnapshotMutation", "WorkflowsStorage", "clean_snapshot", "snapshot_has_thread")

#: Receives the stored snapshot (``None`` when there is no row) and returns the one to store (``None`` = keep).
SnapshotMutation = Callable[[dict[str, Any] | None], dict[str, Any] | None]


@dataclass(slots=True)
class RunQuery:
    workflow_name: str | None
    resource_id: str | None
    status: str | None
    from_date: datetime | None
    to_date: datetime | None
    offset: int
    limit: int | None  # None = all rows
    #: 1.x ``threadId``: the thread id embedded in the snapshot (:func:`snapshot_has_thread`).
    thread_id: str | None = None


def _path(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _as_text(value: Any) -> str | None:
    """PostgreSQL's ``#>> '{}'`` of a JSON value: a string as is, anything else as its JSON text."""
    if value is None or isinstance(value, str):
        return value
    return _json.dumps(value)


def snapshot_has_thread(snapshot: Any, thread_id: str) -> bool:
    """Whether a snapshot carries ``thread_id`` where 1.x looks for it (``getSnapshotMemoryInfo``): in a
    suspended step's ``suspendPayload.__streamState.messageList.memoryInfo`` (agentic loop) or in
    ``context.input.messageListState.memoryInfo`` (durable loop), compared as text like @mastra/pg's ``#>>``.
    Any suspended step counts, not only the first: a superset of 1.x's extraction, which the contract allows
    (it must never exclude a run 1.x would match); SQLite tests the same paths."""
    context = _path(snapshot, "context")
    if not isinstance(context, dict):
        return False
    for step in context.values():
        if isinstance(step, dict) and step.get("status") == "suspended":
            info = _path(step, "suspendPayload", "__streamState", "messageList", "memoryInfo", "threadId")
            if _as_text(info) == thread_id:
                return True
    return _as_text(_path(context, "input", "messageListState", "memoryInfo", "threadId")) == thread_id


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
            value = value.replace("\x00", "")
            # Paired surrogates cannot occur in a Python str; any surrogate code point here is lone.
            value = "".join(c for c in value if not "\ud800" <= c <= "\udfff")
        return value
    if isinstance(value, dict):
        return {_strip(k): _strip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def clean_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Drop U+0000 and lone surrogates (PostgreSQL rejects them in text); everything else is kept exactly."""
    return snapshot if _clean_encoding(snapshot) is not None else _stripped(snapshot)


def clean_snapshot_text(snapshot: dict[str, Any], encoded: bytes | None = None) -> tuple[dict[str, Any], str]:
    """:func:`clean_snapshot` and the result's JSON text: the fast check's encoding is the text a backend stores,
    so a ``persist_workflow_snapshot`` encodes its snapshot once for both (a 5 KB snapshot: ~50 000 instructions,
    15 % of a SQLite W6a call). ``encoded``: the snapshot's JSON the input check made already (then not again)."""
    data = _clean_encoding(snapshot, encoded)
    if data is not None:
        return snapshot, data.decode()
    result = _stripped(snapshot)
    return result, _json.dumps(result)


def _clean_encoding(snapshot: dict[str, Any], data: bytes | None = None) -> bytes | None:
    """The snapshot's JSON when it has nothing to strip, else ``None``. Fast check first (W6a: walking a 5 KB
    snapshot cost ~180 µs, encoding it ~5 µs): orjson refuses lone surrogates, and it writes U+0000 (in keys or
    values) as the escape ``\\u0000``. Without either the walk would return an equal copy. A literal
    backslash-u0000 in the text is encoded as ``\\\\u0000``, which also matches: that rare case just takes the walk."""
    if data is None:  # (else the snapshot's JSON, made by the input check)
        try:
            data = _json.dumps_bytes(snapshot)
        except (TypeError, ValueError):  # orjson.JSONEncodeError subclasses both
            return None
    return data if data.find(b"\\u0000") < 0 else None  # (``find``: ``in`` first tries the needle as an integer)


def _stripped(snapshot: dict[str, Any]) -> dict[str, Any]:
    result = _strip(snapshot)
    assert isinstance(result, dict)
    return result


def _empty_snapshot(run_id: str) -> dict[str, Any]:
    return {
        "context": {},
        "activePaths": [],
        "timestamp": to_epoch_ms(utc_now()),
        "suspendedPaths": {},
        "activeStepsPath": {},
        "resumeLabels": {},
        "serializedStepGraph": [],
        "status": "pending",
        "value": {},
        "waitingPaths": {},
        "runId": run_id,
        "requestContext": {},
    }


class WorkflowsStorage(StorageDomain):
    domain: ClassVar[DomainName] = "workflows"

    async def persist_workflow_snapshot(
        self,
        *,
        workflow_name: str,
        run_id: str,
        snapshot: dict[str, Any],
        resource_id: str | None = None,
        created_at: datetime | str | None = None,
        updated_at: datetime | str | None = None,
    ) -> None:
        """Insert or overwrite the snapshot of a run. Without ``resource_id`` the stored one is kept."""
        op = "PERSIST_WORKFLOW_SNAPSHOT"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(workflow_name, field="workflow_name", error_id=bad)
        require_str(run_id, field="run_id", error_id=bad)
        # Snapshots strip U+0000 and lone surrogates (spec §2.2); every other policy rule applies.
        snapshot, encoded = require_object_encoded(snapshot, field="snapshot", error_id=bad, mode=STRIPPED)
        if resource_id is not None:
            require_str(resource_id, field="resource_id", error_id=bad)
        now = utc_now()
        created = self._date(created_at, "created_at", bad) or now
        updated = self._date(updated_at, "updated_at", bad) or now
        async with self._guard(op, workflowName=workflow_name, runId=run_id):
            clean, text = clean_snapshot_text(snapshot, encoded)
            await self._persist(workflow_name, run_id, clean, resource_id, created, updated, text=text)

    async def load_workflow_snapshot(self, *, workflow_name: str, run_id: str) -> dict[str, Any] | None:
        """The snapshot persisted for this run, or ``None``."""
        op = "LOAD_WORKFLOW_SNAPSHOT"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(workflow_name, field="workflow_name", error_id=bad)
        require_str(run_id, field="run_id", error_id=bad)
        async with self._guard(op, workflowName=workflow_name, runId=run_id):
            return await self._load(workflow_name, run_id)

    async def get_workflow_run_by_id(self, *, run_id: str, workflow_name: str | None = None) -> WorkflowRun | None:
        """The run (snapshot and timestamps), optionally within one workflow, or ``None``."""
        op = "GET_WORKFLOW_RUN_BY_ID"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(run_id, field="run_id", error_id=bad)
        if workflow_name is not None:
            require_str(workflow_name, field="workflow_name", error_id=bad)
        async with self._guard(op, runId=run_id, workflowName=workflow_name):
            return await self._get_run(run_id, workflow_name)

    async def delete_workflow_run_by_id(self, *, run_id: str, workflow_name: str) -> None:
        """Delete the run's snapshot; a missing run is a no-op."""
        op = "DELETE_WORKFLOW_RUN_BY_ID"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(run_id, field="run_id", error_id=bad)
        require_str(workflow_name, field="workflow_name", error_id=bad)
        async with self._guard(op, runId=run_id, workflowName=workflow_name):
            await self._delete_run(run_id, workflow_name)

    async def list_workflow_runs(
        self,
        *,
        workflow_name: str | None = None,
        from_date: datetime | str | None = None,
        to_date: datetime | str | None = None,
        per_page: int | bool | None = None,
        page: int | None = None,
        resource_id: str | None = None,
        status: str | None = None,
        thread_id: str | None = None,
    ) -> WorkflowRuns:
        """Runs newest first. Paginated only when both ``page`` and ``per_page`` are ints. ``thread_id``: runs
        whose snapshot carries that thread id (:func:`snapshot_has_thread`)."""
        op = "LIST_WORKFLOW_RUNS"
        bad = self._error_id(op, "INVALID_ARGS")
        named = (("workflow_name", workflow_name), ("resource_id", resource_id), ("status", status))
        for name, value in (*named, ("thread_id", thread_id)):
            if value is not None:
                require_str(value, field=name, error_id=bad)
        if page is not None:
            require_int(page, field="page", error_id=self._error_id(op, "INVALID_PAGE"), minimum=0)
        paged = (
            isinstance(page, int)
            and not isinstance(page, bool)
            and isinstance(per_page, int)
            and not isinstance(per_page, bool)
        )
        limit: int | None = None
        offset = 0
        if paged:
            assert isinstance(page, int) and isinstance(per_page, int)
            limit = normalize_per_page(per_page, MAX_SAFE_INTEGER)
            offset = min(page * limit, MAX_SAFE_INTEGER)  # past any table; binds as int64 everywhere
        q = RunQuery(
            workflow_name,
            resource_id,
            status,
            self._date(from_date, "from_date", bad),
            self._date(to_date, "to_date", bad),
            offset,
            limit,
            thread_id,
        )
        async with self._guard(op):
            runs, total = await self._list_runs(q)
        return construct(WorkflowRuns, runs=runs, total=total if paged else len(runs))

    async def update_workflow_results(
        self,
        *,
        workflow_name: str,
        run_id: str,
        step_id: str,
        result: Any,
        request_context: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Set ``context[step_id] = result`` and merge ``request_context``, atomically. Returns the context."""
        op = "UPDATE_WORKFLOW_RESULTS"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(workflow_name, field="workflow_name", error_id=bad)
        require_str(run_id, field="run_id", error_id=bad)
        # ``step_id`` is a key of the stored context: refused, not stripped, so "s\x00" cannot overwrite "s".
        require_str(step_id, field="step_id", error_id=bad)
        # Stored at snapshot.context[step_id] and snapshot.requestContext: 2 and 1 levels down.
        result = require_json(result, field="result", error_id=bad, mode=STRIPPED, base=2)
        request_context = require_object(request_context, field="request_context", error_id=bad, mode=STRIPPED, base=1)
        out: dict[str, Any] = {}

        def mutate(snapshot: dict[str, Any] | None) -> dict[str, Any]:
            out.clear()  # a compare-and-swap backend may call this again: only the last attempt reports
            snap = dict(snapshot) if snapshot is not None else _empty_snapshot(run_id)
            context = dict(snap.get("context") or {})
            context[step_id] = result
            snap["context"] = context
            snap["requestContext"] = {**(snap.get("requestContext") or {}), **(request_context or {})}
            out.update(context)
            return clean_snapshot(snap)

        async with self._guard(op, workflowName=workflow_name, runId=run_id):
            await self._update_snapshot(workflow_name, run_id, mutate, utc_now())
        return dict(out)

    async def update_workflow_state(
        self, *, workflow_name: str, run_id: str, opts: WorkflowStateUpdate | dict[str, Any]
    ) -> dict[str, Any] | None:
        """Shallow-merge ``opts`` into the stored snapshot, atomically. ``None`` when the run is missing, or when
        ``opts.expected_status`` is given and the stored status is not one of it (compare-and-set: the check and
        the write are one atomic step on every backend)."""
        op = "UPDATE_WORKFLOW_STATE"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(workflow_name, field="workflow_name", error_id=bad)
        require_str(run_id, field="run_id", error_id=bad)
        update = coerce(WorkflowStateUpdate, opts, field="opts", error_id=bad)
        patch = update.model_dump(by_alias=True, mode="json", exclude_unset=True, exclude={"expected_status"})
        expected = update.expected_status
        if isinstance(expected, str):
            expected = [expected]
        out: list[dict[str, Any] | None] = [None]

        def mutate(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
            out[0] = None  # a compare-and-swap backend may call this again: only the last attempt reports
            if snapshot is None:
                return None
            if "context" not in snapshot:
                raise MastraError(
                    id=self._error_id(op, "FAILED"),
                    category=ErrorCategory.SYSTEM,
                    text=f"Snapshot not found for runId {run_id}",
                    details={"runId": run_id},
                )
            if expected is not None and snapshot.get("status") not in expected:
                return None  # the guard failed: nothing written, the call returns None
            merged = clean_snapshot({**snapshot, **patch})
            out[0] = merged
            return merged

        async with self._guard(op, workflowName=workflow_name, runId=run_id):
            await self._update_snapshot(workflow_name, run_id, mutate, utc_now())
        return out[0]

    def supports_concurrent_updates(self) -> bool:
        """1.x ``supportsConcurrentUpdates()``: every backend here runs ``update_workflow_results`` and
        ``update_workflow_state`` as one atomic read-modify-write (row lock, write lock or compare-and-swap)."""
        return True

    @staticmethod
    def _date(value: Any, field: str, error_id: str) -> datetime | None:
        if value is None:
            return None
        try:
            return parse_datetime(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(id=error_id, field=field, reason=str(exc)) from exc

    # backend primitives -------------------------------------------------------------------------------
    @abstractmethod
    async def _persist(
        self,
        workflow_name: str,
        run_id: str,
        snapshot: dict[str, Any],
        resource_id: str | None,
        created_at: datetime,
        updated_at: datetime,
        *,
        text: str | None = None,
    ) -> None:
        """Upsert; on conflict keep created_at, and keep resource_id when ``None`` is given. ``text``: the
        snapshot's JSON text when the caller has encoded it already (:func:`clean_snapshot_text`)."""

    @abstractmethod
    async def _load(self, workflow_name: str, run_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def _get_run(self, run_id: str, workflow_name: str | None) -> WorkflowRun | None: ...

    @abstractmethod
    async def _delete_run(self, run_id: str, workflow_name: str) -> None: ...

    @abstractmethod
    async def _list_runs(self, q: RunQuery) -> tuple[list[WorkflowRun], int]:
        """Runs newest first (created_at DESC), and the total count of the filter."""

    @abstractmethod
    async def _update_snapshot(self, workflow_name: str, run_id: str, mutate: SnapshotMutation, now: datetime) -> None:
        """Atomic read-modify-write: read (locking) the row, call ``mutate``, write what it returns
        (insert when there was no row) with updated_at = now; write nothing when it returns ``None``."""
