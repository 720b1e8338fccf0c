"""In-memory backend."""

from .agents import InMemoryAgents
from .memory import InMemoryMemory
from .observability import InMemoryObservability
from .observational_memory import InMemoryThreadState
from .scores import InMemoryScores
from .store import InMemoryStore
from .workflows import InMemoryWorkflows

__all__ = (
    "InMemoryAgents",
    "InMemoryMemory",
    "InMemoryObservability",
    "InMemoryScores",
    "InMemoryStore",
    "InMemoryThreadState",
    "InMemoryWorkflows",
)
