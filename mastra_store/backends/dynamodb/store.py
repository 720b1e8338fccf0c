"""``DynamoDBStore``: the six domains over one table and one shared aioboto3 client."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from ...store import BaseStore, check_store_id
from .agents import AgentsDynamoDB
from .client import DynamoDBConfig, DynamoDBConnection
from .memory import MemoryDynamoDB
from .observability import ObservabilityDynamoDB
from .observational_memory import ThreadStateDynamoDB
from .scores import ScoresDynamoDB
from .table import create_table
from .workflows import WorkflowsDynamoDB

if TYPE_CHECKING:
    from ...retention import RetentionInput

__all__ = ("DynamoDBConfigInput", "DynamoDBStore")


class DynamoDBConfigInput(TypedDict, total=False):
    """The keys ``config`` takes (``tableName`` is accepted too): a type checker flags a misspelt one."""

    table_name: str
    tableName: str
    region: str
    endpoint: str | None
    credentials: Mapping[str, str] | None
    ttl: Mapping[str, Any] | None
    session: Any
    max_attempts: int
    maxAttempts: int
    base_delay: float
    max_delay: float
    connect_timeout: float
    read_timeout: float


class DynamoDBStore(BaseStore):
    """Mastra's single-table DynamoDB layout (``@mastra/dynamodb`` 1.0.0 compatible) on aioboto3.

    Args:
        id: store id.
        config: ``{table_name, region="us-east-1", endpoint=None, credentials=None, ttl=None, session=None}``
            (``tableName`` is accepted too). ``ttl`` maps an entity name to ``{enabled, attribute_name,
            default_ttl_seconds}`` (dynamodb.md §6).
        clock: epoch-seconds clock for TTL values (tests inject one).

    The client is opened by ``init()`` and closed by ``close()``. The table is never created implicitly:
    ``await store.create_table()`` provisions it for local development and tests; ``init()`` checks that the
    table and the GSIs the domains need exist and names what is missing otherwise.

    Example::

        store = DynamoDBStore(id="ddb", config={"table_name": "mastra", "region": "eu-west-1"})
        async with store:
            await store.memory.save_thread(thread={...})
    """

    def __init__(
        self,
        *,
        id: str,
        config: DynamoDBConfigInput | DynamoDBConfig,
        clock: Callable[[], float] | None = None,
        retention: RetentionInput = None,
    ) -> None:
        check_store_id(type(self).__name__, id)
        self.connection = DynamoDBConnection(DynamoDBConfig.from_mapping(config), clock)
        conn = self.connection
        super().__init__(
            id=id,
            stores={
                "memory": MemoryDynamoDB(conn),
                "workflows": WorkflowsDynamoDB(conn),
                "scores": ScoresDynamoDB(conn),
                "observability": ObservabilityDynamoDB(conn),
                "agents": AgentsDynamoDB(conn),
                "thread_state": ThreadStateDynamoDB(conn),
            },
        )
        self._set_retention(retention)

    @property
    def table_name(self) -> str:
        """The DynamoDB table this store uses."""
        return self.connection.table

    async def create_table(self) -> bool:
        """Create the table with gsi1..gsi7 and enable TTL (local development, tests). ``False`` if it existed."""
        return await create_table(self.connection)

    async def close(self) -> None:
        await super().close()
        await self.connection.close()
