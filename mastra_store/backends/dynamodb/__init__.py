"""DynamoDB backend (optional extra ``mastra-store[dynamodb]``): Mastra's single-table layout on aioboto3.

aioboto3 is imported only when a client is opened, so importing this package works without it.
"""

from .agents import AgentsDynamoDB
from .client import DynamoDBConfig, DynamoDBConnection
from .memory import MemoryDynamoDB
from .observability import ObservabilityDynamoDB
from .observational_memory import ThreadStateDynamoDB
from .scores import ScoresDynamoDB
from .store import DynamoDBStore
from .workflows import WorkflowsDynamoDB

__all__ = (
    "AgentsDynamoDB",
    "DynamoDBConfig",
    "DynamoDBConnection",
    "DynamoDBStore",
    "MemoryDynamoDB",
    "ObservabilityDynamoDB",
    "ScoresDynamoDB",
    "ThreadStateDynamoDB",
    "WorkflowsDynamoDB",
)
