"""sql implementation of the memory domain (scaffold: to be implemented)."""

from __future__ import annotations

from typing import Any

from ...domains.memory import MemoryStorage
from .base import SqlDomain


class SqlMemory(SqlDomain, MemoryStorage):
    async def _create_thread_with_messages(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _delete_messages(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _delete_thread(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _get_resource(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _get_thread(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _insert_resource(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _list_messages(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _list_messages_by_id(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _list_threads(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _save_messages(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _save_thread(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _update_messages(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _update_resource(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _update_thread(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError
