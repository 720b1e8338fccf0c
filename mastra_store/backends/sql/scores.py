"""sql implementation of the scores domain (scaffold: to be implemented)."""

from __future__ import annotations

from typing import Any

from ...domains.scores import ScoresStorage
from .base import SqlDomain


class SqlScores(SqlDomain, ScoresStorage):
    async def _get_score(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _insert_score(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def _list_scores(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError
