"""inmemory implementation of the observability domain (scaffold: to be implemented)."""

from __future__ import annotations

from typing import Any

from ...domains.observability import ObservabilityStorage
from .state import InMemoryDomain


class InMemoryObservability(InMemoryDomain, ObservabilityStorage):
    async def _delete_traces(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _get_root_spans(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _get_span(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _get_trace_spans(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _insert_spans(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _list_traces(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _update_spans(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError
