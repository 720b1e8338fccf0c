"""``InMemoryStore``: all five domains in process memory, for tests and demos."""

from __future__ import annotations

from ...store import BaseStore
from .agents import InMemoryAgents
from .memory import InMemoryMemory
from .observability import InMemoryObservability
from .scores import InMemoryScores
from .state import InMemoryState
from .workflows import InMemoryWorkflows

__all__ = ("InMemoryStore",)


class InMemoryStore(BaseStore):
    """Keeps everything in dicts; same behaviour as the SQL stores, nothing persisted."""

    def __init__(self, *, id: str = "in-memory") -> None:
        state = InMemoryState()
        super().__init__(
            id=id,
            stores={
                "memory": InMemoryMemory(state),
                "workflows": InMemoryWorkflows(state),
                "scores": InMemoryScores(state),
                "observability": InMemoryObservability(state),
                "agents": InMemoryAgents(state),
            },
        )
        self.state = state
