"""``InMemoryStore``: all five domains in process memory, for tests and demos."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...store import BaseStore
from .agents import InMemoryAgents
from .memory import InMemoryMemory
from .observability import InMemoryObservability
from .observational_memory import InMemoryThreadState
from .scores import InMemoryScores
from .state import InMemoryState
from .workflows import InMemoryWorkflows

if TYPE_CHECKING:
    from ...retention import RetentionInput

__all__ = ("InMemoryStore",)


class InMemoryStore(BaseStore):
    """Keeps everything in dicts; same behaviour as the SQL stores, nothing persisted."""

    def __init__(self, *, id: str = "in-memory", retention: RetentionInput = None) -> None:
        state = InMemoryState()
        super().__init__(
            id=id,
            stores={
                "memory": InMemoryMemory(state),
                "workflows": InMemoryWorkflows(state),
                "scores": InMemoryScores(state),
                "observability": InMemoryObservability(state),
                "agents": InMemoryAgents(state),
                "thread_state": InMemoryThreadState(state),
            },
        )
        self.state = state
        self._set_retention(retention)
