"""Scores domain on DynamoDB: the score entity (spec dynamodb.md §4.5, §5.3).

Every score item carries all seven GSI key pairs (absent trace/span/resource/thread ids are ``""``, as the
reference writes them). Lists: by scorer = Query gsi1, by run = gsi2, by entity = gsi4, by span = gsi7, newest
first (``ScanIndexForward=False``), secondary filters as a FilterExpression, every page followed.
"""

from __future__ import annotations

from typing import Any

from ...domains.scores import ScoreQuery, ScoresStorage
from ...records.scores import ScoreRowData
from .base import DynamoDomain
from .client import Expr
from .codec import decode_json, encode_json, iso
from .keys import primary_key, query_prefix

__all__ = ("ScoresDynamoDB",)

_ENTITY = "score"
# record field -> item attribute, for the JSON-string attributes.
_JSON_FIELDS = {
    "scorer": "scorer",
    "input": "input",
    "output": "output",
    "request_context": "requestContext",
    "entity": "entityData",
    "metadata": "metadata",
    "additional_context": "additionalContext",
    "preprocess_step_result": "preprocessStepResult",
    "analyze_step_result": "analyzeStepResult",
    "extract_step_result": "extractStepResult",
}
_TEXT_FIELDS = {
    "scorer_id": "scorerId",
    "run_id": "runId",
    "source": "source",
    "reason": "reason",
    "entity_type": "entityType",
    "entity_id": "entityId",
    "extract_prompt": "extractPrompt",
    "preprocess_prompt": "preprocessPrompt",
    "analyze_prompt": "analyzePrompt",
    "reason_prompt": "reasonPrompt",
    "generate_score_prompt": "generateScorePrompt",
    "generate_reason_prompt": "generateReasonPrompt",
    # Mastra 1.x tenancy (plain attributes, no index: filtered by the FilterExpression of the list query).
    "organization_id": "organizationId",
    "project_id": "projectId",
    "batch_id": "batchId",
    "dataset_id": "datasetId",
    "dataset_item_id": "datasetItemId",
}
# Absent ids are stored as "" so every GSI key can be built; "" reads back as absent.
_BLANKABLE = {"trace_id": "traceId", "span_id": "spanId", "resource_id": "resourceId", "thread_id": "threadId"}

# filter column -> (index, pk composites used from the filters)
_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bySpan", ("traceId", "spanId")),
    ("byScorer", ("scorerId",)),
    ("byRun", ("runId",)),
    ("byEntityData", ("entityId",)),
)


def _score_item_attrs(score: ScoreRowData) -> dict[str, Any]:
    attrs: dict[str, Any] = {"id": score.id, "score": score.score}
    for fld, attr in _TEXT_FIELDS.items():
        attrs[attr] = getattr(score, fld)
    for fld, attr in _JSON_FIELDS.items():
        value = getattr(score, fld)
        attrs[attr] = encode_json(value) if value is not None else None
    for fld, attr in _BLANKABLE.items():
        attrs[attr] = getattr(score, fld) or ""
    attrs["createdAt"] = iso(score.created_at)
    attrs["updatedAt"] = iso(score.updated_at)
    return attrs


def score_from_item(item: dict[str, Any]) -> ScoreRowData:
    """Only attributes present (and non-blank ids) become set fields, like NULL columns left out in SQL."""
    data: dict[str, Any] = {"id": item["id"], "createdAt": item.get("createdAt"), "updatedAt": item.get("updatedAt")}
    if data["updatedAt"] is None:
        data["updatedAt"] = data["createdAt"]
    if "score" in item:
        data["score"] = float(item["score"])
    for attr in _TEXT_FIELDS.values():
        if item.get(attr) is not None:
            data[attr] = item[attr]
    for fld, attr in _JSON_FIELDS.items():
        if item.get(attr) is not None:
            data[fld if attr == "entityData" else attr] = _decode(item[attr])
    for attr in _BLANKABLE.values():
        if item.get(attr):
            data[attr] = item[attr]
    return ScoreRowData.model_validate(data)


def _decode(raw: Any) -> Any:
    """Our writes are single-encoded JSON; the reference's getters parse only object/array text."""
    value = decode_json(raw)
    if value is raw and isinstance(raw, str):
        from ..._json import loads_lenient

        return loads_lenient(raw)
    return value


class ScoresDynamoDB(DynamoDomain, ScoresStorage):
    entities = (_ENTITY,)

    async def _insert_score(self, score: ScoreRowData, *, replace: bool = False) -> None:
        item = self._item(_ENTITY, _score_item_attrs(score))
        if replace:  # a caller-supplied id: PutItem replaces the whole item
            await self.db.put(item)
            return
        e = Expr()
        await self.db.put(item, condition=f"attribute_not_exists({e.n('pk')})", expr=e)

    async def _get_score(self, score_id: str) -> ScoreRowData | None:
        item = await self.db.get(primary_key(_ENTITY, {"id": score_id}))
        return score_from_item(item) if item and self._only(_ENTITY, [item]) else None

    async def _list_scores(self, q: ScoreQuery) -> tuple[list[ScoreRowData], int]:
        index, used = next((ix, cols) for ix, cols in _INDEXES if all(c in q.filters for c in cols))
        e = Expr()
        pkf, pk, skf, prefix = query_prefix(_ENTITY, index, {c: q.filters[c] for c in used})
        kw: dict[str, Any] = {
            "IndexName": pkf[:-2],
            "KeyConditionExpression": f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
            "ScanIndexForward": False,
        }
        # Exact (case-sensitive) equality on every filter, including the ones in the lower-cased key.
        kw["FilterExpression"] = " AND ".join(f"{e.n(col)} = {e.v(value)}" for col, value in q.filters.items())
        items = self._only(_ENTITY, await self.db.query(**kw, **e.kwargs()))
        scores = [score_from_item(i) for i in items]
        scores.sort(key=lambda s: s.id)
        scores.sort(key=lambda s: s.created_at, reverse=True)
        return scores[q.offset : q.offset + q.limit], len(scores)
