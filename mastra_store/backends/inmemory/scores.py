"""Eval scores in process memory (spec §2.3), behaving like the SQL backends.

Scores are stored as JSON round-tripped copies, so reads return the same shapes a SQL backend does and a
caller can never mutate stored state through a returned object.
"""

from __future__ import annotations

from typing import Any

from ... import _json
from ...domains.scores import ScoreQuery, ScoresStorage
from ...records.scores import ScoreRowData
from .state import InMemoryDomain

__all__ = ("InMemoryScores",)

_FILTER_FIELDS = {
    "scorerId": "scorer_id",
    "runId": "run_id",
    "entityId": "entity_id",
    "entityType": "entity_type",
    "source": "source",
    "traceId": "trace_id",
    "spanId": "span_id",
    "organizationId": "organization_id",
    "projectId": "project_id",
}


def _stored(score: ScoreRowData) -> ScoreRowData:
    """What a SQL backend would hand back: JSON-decoded values, NULL/JSON-null fields unset."""
    data = _json.loads(_json.dumps_bytes(score.model_dump(exclude={"structured_output"}, exclude_none=True)))
    data["created_at"] = score.created_at
    data["updated_at"] = score.updated_at
    return ScoreRowData.model_construct(**data)


def _newest_first(score: ScoreRowData) -> tuple[float, str]:
    return (-score.created_at.timestamp(), score.id)


class InMemoryScores(InMemoryDomain, ScoresStorage):
    """``state.scores``: ``id -> ScoreRowData`` (never handed out; reads return copies)."""

    @property
    def _rows(self) -> dict[str, ScoreRowData]:
        rows: dict[str, ScoreRowData] = self.state.scores
        return rows

    async def _insert_score(self, score: ScoreRowData, *, replace: bool = False) -> None:
        stored = _stored(score)
        async with self.state.lock:
            self._rows[score.id] = stored

    async def _get_score(self, score_id: str) -> ScoreRowData | None:
        row = self._rows.get(score_id)
        return None if row is None else row.model_copy(deep=True)

    async def _list_scores(self, q: ScoreQuery) -> tuple[list[ScoreRowData], int]:
        wanted: list[tuple[str, Any]] = [(_FILTER_FIELDS[col], value) for col, value in q.filters.items()]
        rows = [r for r in self._rows.values() if all(getattr(r, f) == v for f, v in wanted)]
        rows.sort(key=_newest_first)
        page = rows[q.offset : q.offset + q.limit]
        return [r.model_copy(deep=True) for r in page], len(rows)
