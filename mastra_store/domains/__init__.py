"""Abstract contracts, one per storage domain. Backends implement the ``_``-prefixed primitives."""

from .agents import AgentsStorage
from .base import DOMAIN_NAMES, DomainName, StorageDomain
from .memory import MemoryStorage
from .observability import ObservabilityStorage
from .observational_memory import ObservationalMemoryMethods
from .scores import ScoresStorage
from .thread_state import ThreadStateStorage
from .workflows import WorkflowsStorage

__all__ = (
    "DOMAIN_NAMES",
    "AgentsStorage",
    "DomainName",
    "MemoryStorage",
    "ObservabilityStorage",
    "ObservationalMemoryMethods",
    "ScoresStorage",
    "StorageDomain",
    "ThreadStateStorage",
    "WorkflowsStorage",
)
