"""Thread state (@mastra/core 1.71.0 ``ThreadStateStorage``): one JSON value per ``(thread_id, type)``.

Mastra keeps the agent's task list (``type='task'``) and goal objective (``type='goal'``) here; the domain is
generic. ``set_state`` replaces the whole value; deleting a thread deletes its state.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import Any, ClassVar

from .._time import now as utc_now
from ._validate import require_json, require_str
from .base import DomainName, StorageDomain

__all__ = ("ThreadStateStorage",)


class ThreadStateStorage(StorageDomain):
    """Durable per-thread state keyed by a ``type`` namespace (table ``mastra_thread_state``)."""

    domain: ClassVar[DomainName] = "thread_state"

    async def get_state(self, *, thread_id: str, type: str) -> Any:
        """The value stored for ``(thread_id, type)``, or ``None`` when none was set (or it is JSON null)."""
        op = "THREAD_STATE_GET"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(thread_id, field="thread_id", error_id=bad)
        require_str(type, field="type", error_id=bad)
        async with self._guard(op, threadId=thread_id, type=type):
            return await self._get_state(thread_id, type)

    async def set_state(self, *, thread_id: str, type: str, value: Any) -> None:
        """Store ``value`` (any JSON value) for ``(thread_id, type)``, replacing what was there. Creation time is
        kept on a replace; the thread need not exist."""
        op = "THREAD_STATE_SET"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(thread_id, field="thread_id", error_id=bad)
        require_str(type, field="type", error_id=bad)
        value = require_json(value, field="value", error_id=bad)
        async with self._guard(op, threadId=thread_id, type=type):
            await self._set_state(thread_id, type, value, utc_now())

    async def delete_state(self, *, thread_id: str, type: str) -> None:
        """Delete the value of ``(thread_id, type)``; a missing one is a no-op."""
        op = "THREAD_STATE_DELETE"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(thread_id, field="thread_id", error_id=bad)
        require_str(type, field="type", error_id=bad)
        async with self._guard(op, threadId=thread_id, type=type):
            await self._delete_state(thread_id, type)

    async def delete_thread_states(self, *, thread_id: str) -> None:
        """Delete every state of a thread (what ``delete_thread`` does to a thread's state)."""
        op = "THREAD_STATE_DELETE"
        require_str(thread_id, field="thread_id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, threadId=thread_id):
            await self._delete_thread_states(thread_id)

    # -- backend primitives ----------------------------------------------------------------------------
    @abstractmethod
    async def _get_state(self, thread_id: str, type: str) -> Any: ...

    @abstractmethod
    async def _set_state(self, thread_id: str, type: str, value: Any, now: datetime) -> None:
        """Upsert: a new row gets ``now`` as both times, an existing one keeps its creation time."""

    @abstractmethod
    async def _delete_state(self, thread_id: str, type: str) -> None: ...

    @abstractmethod
    async def _delete_thread_states(self, thread_id: str) -> None: ...
