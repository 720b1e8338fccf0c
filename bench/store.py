"""The benchmark target for mastra_store itself: every call goes through the public API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mastra_store.store import BaseStore

__all__ = ("StoreTarget",)

_DESC = {"field": "createdAt", "direction": "DESC"}


class StoreTarget:
    """``PostgresStore`` (``database_url``, optional ``schema``) or ``SqliteStore`` (``sqlite_path``)."""

    def __init__(
        self, *, database_url: str | None = None, schema: str | None = None, sqlite_path: Path | None = None
    ) -> None:
        self._args = {"database_url": database_url, "schema": schema, "sqlite_path": sqlite_path}
        self.store: BaseStore
        # Only the backend under test is imported (mastra_store loads backends on first use).
        if sqlite_path is not None:
            from mastra_store import SqliteStore

            self.store = SqliteStore(id="bench", path=sqlite_path)
        else:
            from mastra_store import PostgresStore

            self.store = PostgresStore(id="bench", connection_string=database_url, schema_name=schema)
        # Fetched once, as the reference does with getStore().
        self.memory = self.store.memory
        self.workflows = self.store.workflows
        self.observability = self.store.observability
        self.scores = self.store.scores

    def open_again(self) -> StoreTarget:
        return StoreTarget(**self._args)  # type: ignore[arg-type]

    async def init(self) -> None:
        await self.store.init()

    async def close(self) -> None:
        await self.store.close()

    async def save_thread(self, thread: dict[str, Any]) -> None:
        await self.memory.save_thread(thread=thread)

    async def save_messages(self, messages: list[dict[str, Any]]) -> None:
        await self.memory.save_messages(messages=messages)

    async def list_last_messages(self, thread_id: str, per_page: int) -> tuple[list[str], int]:
        page = await self.memory.list_messages(thread_id=thread_id, per_page=per_page, page=0, order_by=_DESC)
        return [m.id for m in page.messages], page.total

    async def list_messages_include(self, thread_id: str, resource_id: str, include: list[dict[str, Any]]) -> list[str]:
        page = await self.memory.list_messages(
            thread_id=thread_id,
            resource_id=resource_id,
            per_page=0,
            include=include,
        )
        return [m.id for m in page.messages]

    async def list_threads(self, resource_id: str, per_page: int) -> tuple[list[str], int]:
        page = await self.memory.list_threads_by_resource_id(resource_id=resource_id, page=0, per_page=per_page)
        return [t.id for t in page.threads], page.total

    async def persist_snapshot(self, run: dict[str, Any], snapshot: dict[str, Any], created_at: Any) -> None:
        await self.workflows.persist_workflow_snapshot(
            workflow_name=run["workflowName"],
            run_id=run["runId"],
            resource_id=run["resourceId"],
            snapshot=snapshot,
            created_at=created_at,
        )

    async def load_snapshot(self, workflow_name: str, run_id: str) -> dict[str, Any] | None:
        return await self.workflows.load_workflow_snapshot(workflow_name=workflow_name, run_id=run_id)

    async def list_runs(self, page: int, per_page: int) -> tuple[list[str], int]:
        runs = await self.workflows.list_workflow_runs(page=page, per_page=per_page)
        return [r.run_id for r in runs.runs], runs.total

    async def batch_create_spans(self, spans: list[dict[str, Any]]) -> None:
        await self.observability.batch_create_spans(records=spans)

    async def get_trace(self, trace_id: str) -> list[str] | None:
        trace = await self.observability.get_trace(trace_id=trace_id)
        return None if trace is None else [s.span_id for s in trace.spans]

    async def save_score(self, score: dict[str, Any]) -> None:
        await self.scores.save_score(score=score)

    async def list_scores(self, run_id: str, per_page: int) -> tuple[list[float], int]:
        res = await self.scores.list_scores_by_run_id(run_id=run_id, pagination={"page": 0, "perPage": per_page})
        return [s.score for s in res.scores], res.pagination.total
