"""sql implementation of the agents domain (scaffold: to be implemented)."""

from __future__ import annotations

from typing import Any

from ...domains.agents import AgentsStorage
from .base import SqlDomain


class SqlAgents(SqlDomain, AgentsStorage):
    async def _delete_agent(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _get_agent(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _insert_agent(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _list_agents(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _update_agent(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError
