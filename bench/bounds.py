"""What typed records cost by themselves: the part of W2 / W3 / C1 no query or driver work can win back.

    python -m bench.bounds [--number 2000]

No database: the inputs are W3's 40 stored rows and W2's batch of 100 messages, as the workloads make them.
For reading, it times the library's row → record builder (``message_from_row``) against the least any pydantic
record can cost (the two objects per message set up with no check at all: not a usable builder, a floor) and
against the raw floor's plain dicts. For writing, it times the validation of a batch (pydantic-core, one call for
the list) against no validation. Each figure is the best of several repeats, in µs per call.

With the raw floor's per-call wall time from ``bench.profile`` or ``bench.run`` (W3 ~320 µs, a W2 batch ~1 750 µs
on the 2-vCPU VMs of bench/RESULTS.md), the gap printed here bounds the ratio to the floor any pydantic design
can reach: ``raw / (raw + gap)``.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import TypeAdapter

from mastra_store.domains._messages import _PARTS_ONLY_TEMPLATE, message_from_row
from mastra_store.domains._validate import coerce_list
from mastra_store.records._construct import _new, _set, _set_extra, _set_fields_set, _set_private
from mastra_store.records.memory import MastraDBMessage, MessageContentV2

from .data import make_c1_messages, make_threads

_MESSAGE_FIELDS = frozenset(MastraDBMessage.model_fields)
_CONTENT_FIELDS = frozenset(("format", "parts"))
Row = tuple[str, str, str, str, datetime, str, str]


def stored_rows(n: int = 40) -> list[Row]:
    """W3's page as the driver hands it over: content as stored JSON text, timestamps aware UTC."""
    at = datetime(2025, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)
    threads = make_threads(1, 1)
    out: list[Row] = []
    for i in range(n):
        m = make_c1_messages(i, threads[0])[i % 2]
        out.append((m["id"], orjson.dumps(m["content"]).decode(), m["role"], "v2", at, m["threadId"], m["resourceId"]))
    return out


def library(rows: list[Row]) -> list[MastraDBMessage]:
    return [message_from_row(*r) for r in rows]


def bare_records(rows: list[Row]) -> list[MastraDBMessage]:
    """The two pydantic objects of each message with nothing checked: the least a record can cost."""
    out = []
    for id_, text, role, _type, created, thread_id, resource_id in rows:
        data = _PARTS_ONLY_TEMPLATE.copy()
        data["parts"] = orjson.loads(text)["parts"]
        content = _new(MessageContentV2)
        _set(content, "__dict__", data)
        _set_fields_set(content, set(_CONTENT_FIELDS))
        _set_extra(content, {})
        _set_private(content, None)
        message = _new(MastraDBMessage)
        data = {
            "id": id_,
            "role": role,
            "created_at": created,
            "thread_id": thread_id,
            "resource_id": resource_id,
            "type": None,
            "content": content,
        }
        _set(message, "__dict__", data)
        _set_fields_set(message, set(_MESSAGE_FIELDS))
        _set_extra(message, None)
        _set_private(message, None)
        out.append(message)
    return out


def plain_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    """What the raw floor (bench/raw.py) returns."""
    return [
        {"id": r[0], "content": orjson.loads(r[1]), "role": r[2], "type": r[3], "createdAt": r[4], "threadId": r[5]}
        for r in rows
    ]


def batch(n: int = 100) -> list[dict[str, Any]]:
    """A W2 batch of camelCase message dicts (two threads, as the workload sends them)."""
    threads = make_threads(2, 1)
    return [m for k in range(n // 2) for m in make_c1_messages(k, threads[k * 4 // n])]


_VALIDATE = TypeAdapter(list[MastraDBMessage]).validate_python


def validate_with_policy(messages: list[dict[str, Any]]) -> list[MastraDBMessage]:
    """What ``save_messages`` runs on its input: the same validation plus the storage policy (records/_policy.py)."""
    return coerce_list(MastraDBMessage, messages, field="messages", error_id="BENCH")


def measure(number: int) -> dict[str, float]:
    rows, messages = stored_rows(), batch()
    assert library(rows) == bare_records(rows), "the floor must build the same records"

    def best(fn: Callable[[], object]) -> float:
        return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6

    return {
        "read40_library_us": best(lambda: library(rows)),
        "read40_bare_records_us": best(lambda: bare_records(rows)),
        "read40_dicts_us": best(lambda: plain_dicts(rows)),
        "validate100_us": best(lambda: _VALIDATE(messages)),
        "validate100_policy_us": best(lambda: validate_with_policy(messages)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per repeat")
    figures = measure(parser.parse_args().number)
    print(orjson.dumps({k: round(v, 1) for k, v in figures.items()}).decode())
    gap = figures["read40_bare_records_us"] - figures["read40_dicts_us"]
    print(
        f"40 messages as records cost at least {gap:.0f} µs more than as dicts; validating 100 inputs "
        f"{figures['validate100_us']:.0f} µs, with the storage policy {figures['validate100_policy_us']:.0f} µs"
    )


if __name__ == "__main__":
    main()
