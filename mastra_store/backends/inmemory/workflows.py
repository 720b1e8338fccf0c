"""inmemory implementation of the workflows domain (scaffold: to be implemented)."""

from __future__ import annotations

from typing import Any

from ...domains.workflows import WorkflowsStorage
from .state import InMemoryDomain


class InMemoryWorkflows(InMemoryDomain, WorkflowsStorage):
    async def _delete_run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _get_run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _list_runs(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _load(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _persist(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _update_snapshot(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError
