"""Observational memory and thread state for ``copy`` and ``prune`` (Mastra 1.x tables, issue #18).

A copy must carry every field exactly, so the records read here are not the domain's reads:

* :class:`OmCopyRecord` is the observational-memory record plus what the domain does not return: 1.27.1's
  ``lastReflectionAt`` column (set on a reflection generation) and ``bufferedMessageIds``. On SQL it is read
  without 1.27.1's JS-falsy rules (an empty buffered reflection or a zero count stays what it is), on DynamoDB
  ``lastReflectionAt`` is the attribute the adapter carries beside the modelled ones.
* :class:`ThreadStateRecord` is one ``(thread_id, type)`` row with its times (the domain returns the value only).

Between two SQL stores neither is built: their rows travel as portable rows like every other table (sql.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .. import _json
from .._time import from_db
from ..backends.dynamodb.codec import decode_json_any, encode_json, iso
from ..backends.dynamodb.observational_memory import STATE, om_from_item
from ..backends.sql import observational_memory as sql_om
from ..domains._om_rules import lookup_key
from ..records.observational_memory import ObservationalMemoryRecord
from ..types import Record, UtcDateTime

if TYPE_CHECKING:
    from ..backends.dynamodb import DynamoDBStore

__all__ = (
    "THREAD_OM_PREFIX",
    "OmCopyRecord",
    "ThreadStateRecord",
    "ddb_item",
    "ddb_reader",
    "om_row",
    "sql_reader",
    "thread_om_keys",
)


class OmCopyRecord(ObservationalMemoryRecord):
    """One generation with every stored field, ``lastReflectionAt`` included."""

    last_reflection_at: UtcDateTime | None = None


class ThreadStateRecord(Record):
    """One ``mastra_thread_state`` row: any JSON ``value`` (``None`` is JSON null)."""

    thread_id: str
    type: str
    value: Any = None
    created_at: UtcDateTime
    updated_at: UtcDateTime


#: What ``lookup_key`` puts before a thread id (SQL builds the keys of a subquery's threads with it).
THREAD_OM_PREFIX = "thread:"


def thread_om_keys(thread_ids: list[str]) -> list[str]:
    """The lookup keys of these threads' thread-scoped observational memory (what ``delete_thread`` clears)."""
    return [lookup_key(t, "") for t in thread_ids]


# -- SQL --------------------------------------------------------------------------------------------------------
#: Columns the domain's reader collapses with JS ``||`` (1.27.1's parseOMRow), read exactly for a copy.
_EXACT = {
    "buffered_observations": "activeObservationsPendingUpdate",
    "buffered_observation_tokens": "bufferedObservationTokens",
    "buffered_reflection": "bufferedReflection",
    "buffered_reflection_tokens": "bufferedReflectionTokens",
    "buffered_reflection_input_tokens": "bufferedReflectionInputTokens",
    "reflected_observation_line_count": "reflectedObservationLineCount",
    "observed_timezone": "observedTimezone",
}


def _om_from_row(m: Mapping[str, Any]) -> OmCopyRecord:
    base = sql_om._record(m)
    exact = {field: m[col] for field, col in _EXACT.items()}
    ids = m["bufferedMessageIds"]
    exact["buffered_message_ids"] = _json.loads_lenient(ids) if ids is not None else None
    exact["last_reflection_at"] = from_db(m["lastReflectionAtZ"]) or from_db(m["lastReflectionAt"])
    return OmCopyRecord.model_validate({**dict(base), **exact})


def _state_from_row(m: Mapping[str, Any]) -> ThreadStateRecord:
    return ThreadStateRecord(
        thread_id=m["threadId"],
        type=m["type"],
        value=_json.loads_lenient(m["value"]) if m["value"] is not None else None,
        created_at=from_db(m["createdAtZ"]) or from_db(m["createdAt"]),
        updated_at=from_db(m["updatedAtZ"]) or from_db(m["updatedAt"]),
    )


def sql_reader(name: str, t: sa.Table) -> tuple[list[Any], Callable[[Any], Record]]:
    """The columns to select (JSON as text) and the row -> record function of ``observational_memory`` /
    ``thread_state``."""
    columns = list(sql_om._read(t))
    if name == "observational_memory":
        return columns, lambda r: _om_from_row(r._mapping)
    return columns, lambda r: _state_from_row(r._mapping)


def om_row(record: OmCopyRecord) -> dict[str, Any]:
    """The record as a full row (column -> value, both timestamp columns; JSON columns as values), written by
    the domain's own parameter builder."""
    params = sql_om._params(record, record.last_reflection_at)
    return {k.removeprefix("b_"): v for k, v in params.items()}


# -- DynamoDB ---------------------------------------------------------------------------------------------------
def _om_from_item(item: dict[str, Any]) -> OmCopyRecord:
    return OmCopyRecord.model_validate({**dict(om_from_item(item)), "last_reflection_at": item.get("lastReflectionAt")})


def _state_from_item(item: dict[str, Any]) -> ThreadStateRecord:
    return ThreadStateRecord.model_validate({**item, "value": decode_json_any(item.get("value"))})


def ddb_reader(name: str) -> Callable[[dict[str, Any]], Record]:
    return _om_from_item if name == "observational_memory" else _state_from_item


def ddb_item(store: DynamoDBStore, name: str, record: Any) -> dict[str, Any]:
    """The item the adapter itself would store (keys, gsi1 lookup key; revision 0 for a fresh optimistic count)."""
    if name == "observational_memory":
        assert isinstance(record, OmCopyRecord)
        carried = {"lastReflectionAt": iso(record.last_reflection_at)} if record.last_reflection_at else None
        return store.stores["memory"]._om_item(record, 0, carried)  # type: ignore[attr-defined,no-any-return]
    assert isinstance(record, ThreadStateRecord)
    attrs = {
        "threadId": record.thread_id,
        "type": record.type,
        "value": encode_json(record.value),
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
    }
    return store.stores["thread_state"]._item(STATE, attrs, ttl=False)  # type: ignore[attr-defined,no-any-return]
