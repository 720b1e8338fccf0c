"""Differential fuzzing of the 1.x domains (observational memory, thread state, versioned agents) on every backend.

Like test_fuzz.py (one verdict for any input: accepted, or a USER error naming the same field; nothing written on
a refusal), and stricter: every store must return the same result and hold the same rows after each accepted
call, timestamps and generated ids included (the clock and the domains' uuids are deterministic per store, see
fuzzing.deterministic). Two properties:

* one call of each method on the seeded rows (5 examples a method; 40 with ``MASTRA_STORE_CHAOS_LONG=1``);
* sequences of calls of one family on the same rows, nothing undone between them, so that later calls meet what
  earlier ones wrote (an observational memory initialised, buffered, swapped, reflected; versions created,
  activated, deleted): 4 sequences of up to 8 calls per family (30 in the long profile).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chaos.fuzz_v1 import BY_FAMILY, FAMILIES_V1, V1
from tests.chaos.fuzzing import READS, Call, Fuzzer, deterministic, open_stores

pytestmark = [pytest.mark.postgres, pytest.mark.dynamodb]

LONG = os.environ.get("MASTRA_STORE_CHAOS_LONG", "") not in ("", "0")
EXAMPLES = 40 if LONG else 10
WRITE_EXAMPLES = 40 if LONG else 6
SEQUENCES = 60 if LONG else 10
FUZZ_SETTINGS: dict[str, Any] = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
}


@pytest.fixture(scope="module")
def fuzzer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzer]:
    with deterministic():
        for loop, stores in open_stores(request, tmp_path_factory.mktemp("fuzz_v1")):
            f = Fuzzer(loop, stores, families=FAMILIES_V1)
            yield f
            print(f.report())  # shown with -s / -rP


def _methods(reads: bool) -> list[str]:
    return sorted(f"{f}.{m}" for f, m in V1.calls if m.startswith(READS) == reads)


# Reads cost a call per store; a write also a read-back and a reseed: reads get more examples for the time.
@settings(max_examples=EXAMPLES, **FUZZ_SETTINGS)
@pytest.mark.parametrize("method", _methods(reads=True))
@given(data=st.data())
def test_one_read_same_result_on_every_backend(fuzzer: Fuzzer, method: str, data: st.DataObject) -> None:
    family, name = method.split(".")
    fuzzer.check(data.draw(V1.calls[(family, name)], label=method))


@settings(max_examples=WRITE_EXAMPLES, **FUZZ_SETTINGS)
@pytest.mark.parametrize("method", _methods(reads=False))
@given(data=st.data())
def test_one_write_same_result_on_every_backend(fuzzer: Fuzzer, method: str, data: st.DataObject) -> None:
    family, name = method.split(".")
    fuzzer.check(data.draw(V1.calls[(family, name)], label=method))


@settings(max_examples=SEQUENCES, **FUZZ_SETTINGS)
@pytest.mark.parametrize("family", sorted(BY_FAMILY))
@given(data=st.data())
def test_call_sequences_same_results_on_every_backend(fuzzer: Fuzzer, family: str, data: st.DataObject) -> None:
    calls: list[Call] = data.draw(st.lists(st.one_of(BY_FAMILY[family]), min_size=3, max_size=10), label="calls")
    fuzzer.sequence(calls)

