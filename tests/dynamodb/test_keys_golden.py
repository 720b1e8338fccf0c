"""The key builder reproduces every key the real @mastra/dynamodb 1.0.0 wrote (dynamodb_golden/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mastra_store.backends.dynamodb.codec import from_wire
from mastra_store.backends.dynamodb.keys import (
    KEY_ATTRIBUTES,
    MissingCompositeError,
    item_for,
    key_attributes,
    primary_key,
    query_prefix,
)

#: Copied verbatim from the spec's dynamodb_golden/ (captured from the real adapter).
GOLDEN = Path(__file__).resolve().parent / "golden"


def _items(name: str) -> list[dict[str, Any]]:
    return [from_wire(i) for i in json.loads((GOLDEN / name).read_text())]


def _params() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for line in (GOLDEN / "params.out").read_text().splitlines():
        label, _, payload = line.partition(" ")
        out[label] = json.loads(payload)
    return out


@pytest.mark.parametrize("name", ["items_after_writes.json", "items_after_deletes.json"])
def test_every_stored_key_is_rebuilt(name: str) -> None:
    items = _items(name)
    assert items
    for item in items:
        entity = item["__edb_e__"]
        expected = {k: v for k, v in item.items() if k in KEY_ATTRIBUTES}
        assert key_attributes(entity, item) == expected, entity
        rebuilt = item_for(entity, {k: v for k, v in item.items() if k not in KEY_ATTRIBUTES})
        assert rebuilt == item


def test_params_out_items_and_queries() -> None:
    p = _params()
    for label in ("trace.put", "eval.put", "thread.put.unicode", "thread.put.hash_in_id"):
        item = p[label]["Item"]
        entity = item["__edb_e__"]
        assert item_for(entity, {k: v for k, v in item.items() if k not in KEY_ATTRIBUTES}) == item, label
    for label, entity, index, values in (
        ("trace.query.byName", "trace", "byName", {"name": "Agent.Run"}),
        ("eval.query.byAgent", "eval", "byAgent", {"agent_name": "My-Agent"}),
        ("score.query.byThread", "score", "byThread", {"threadId": "th-1"}),
        ("score.query.byResource", "score", "byResource", {"resourceId": "r-1"}),
        ("score.query.byTrace", "score", "byTrace", {"traceId": "tr-1"}),
        ("message.query.byThread.array", "message", "byThread", {"threadId": "a,b"}),
    ):
        q = p[label]
        pkf, pk, skf, prefix = query_prefix(entity, index, values)
        names, values_ = q["ExpressionAttributeNames"], q["ExpressionAttributeValues"]
        assert (names["#pk"], values_[":pk"]) == (pkf, pk), label
        assert (names["#sk1"], values_[":sk1"]) == (skf, prefix), label
        assert q["IndexName"] == pkf[:-2]


def test_update_recomputes_only_affected_keys() -> None:
    p = _params()
    upd = p["message.update.threadId"]["ExpressionAttributeValues"]
    assert key_attributes("message", {"id": "m1", "threadId": "New-Thread"}, only={"threadId"}) == {
        "gsi1pk": upd[":gsi1pk_u0"]
    }
    upd = p["thread.update.resourceId"]["ExpressionAttributeValues"]
    assert key_attributes("thread", {"id": "t1", "resourceId": "R2"}, only={"resourceId"}) == {
        "gsi1pk": upd[":gsi1pk_u0"]
    }
    assert primary_key("message", {"id": "m1"}) == p["message.delete.withThreadId"]["Key"]


def test_commands_json_keys() -> None:
    """Every Key / key value the adapter sent in commands.json is what our builders produce."""
    commands = json.loads((GOLDEN / "commands.json").read_text())
    checked = 0
    for c in commands:
        inp = c["input"]
        key = inp.get("Key")
        if key and c["command"] in ("GetCommand", "DeleteCommand", "UpdateCommand"):
            pk = key["pk"]
            entity = pk.split("#")[1].removeprefix("entity_")
            values = inp.get("ExpressionAttributeValues", {})
            if c["command"] == "UpdateCommand" and ":id_u0" in values:
                assert primary_key(entity, {"id": values[":id_u0"]}) == key
                checked += 1
    assert checked >= 5


def test_lower_casing_is_js_not_casefold() -> None:
    key = primary_key("thread", {"id": "ÄÖ-İ-ß-X"})
    assert key["pk"] == "$mastra#entity_thread#id_äö-i̇-ß-x"
    assert "ss" not in key["pk"]


def test_missing_composite_is_refused() -> None:
    with pytest.raises(MissingCompositeError):
        item_for("score", {"id": "s", "scorerId": "x", "runId": "r", "createdAt": "2025-01-01T00:00:00.000Z"})


def test_own_entities_follow_the_grammar() -> None:
    span = item_for(
        "ai_span", {"traceId": "T-1", "spanId": "S-1", "parentSpanId": "", "startedAt": "2025-01-01T00:00:00.000Z"}
    )
    assert span["pk"] == "$mastra#entity_ai_span#traceid_t-1"
    assert span["sk"] == "$ai_span_1#spanid_s-1"
    assert span["gsi1pk"] == "$mastra#entity_ai_span#parentspanid_"
    assert span["gsi1sk"] == "$ai_span_1#startedat_2025-01-01t00:00:00.000z"
    agent = item_for(
        "agent", {"id": "A", "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-02T00:00:00.000Z"}
    )
    assert (agent["pk"], agent["sk"]) == ("$mastra#entity_agent#id_a", "$agent_1#entity_agent")
    assert (agent["gsi1pk"], agent["gsi2pk"]) == ("$mastra#entity_agent", "$mastra#entity_agent")
    assert agent["gsi2sk"] == "$agent_1#updatedat_2025-01-02t00:00:00.000z"


def test_versioned_agent_entities_follow_the_grammar() -> None:
    stamps = {"createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-02T00:00:00.000Z"}
    agent = item_for("versioned_agent", {"id": "A", **stamps})
    assert (agent["pk"], agent["sk"]) == (
        "$mastra#entity_versioned_agent#id_a",
        "$versioned_agent_1#entity_versioned_agent",
    )
    assert (agent["gsi1pk"], agent["gsi2pk"]) == ("$mastra#entity_versioned_agent",) * 2
    assert agent["gsi1sk"] == "$versioned_agent_1#createdat_2025-01-01t00:00:00.000z"
    version = item_for("agent_version", {"agentId": "A", "versionNumber": 12, "id": "V-1"})
    # The number zero-padded to 10 digits (ElectroDB's attribute ``padding``): keys sort numerically.
    assert (version["pk"], version["sk"]) == (
        "$mastra#entity_agent_version#agentid_a",
        "$agent_version_1#versionnumber_0000000012",
    )
    assert primary_key("agent_version", {"agentId": "A", "versionNumber": 9})["sk"] < version["sk"]
    pointer = item_for("agent_version_id", {"id": "V-1", "agentId": "A", "versionNumber": 12})
    assert (pointer["pk"], pointer["sk"]) == (
        "$mastra#entity_agent_version_id#id_v-1",
        "$agent_version_id_1#entity_agent_version_id",
    )
    assert not any(k.startswith("gsi") for k in (*version, *pointer))
