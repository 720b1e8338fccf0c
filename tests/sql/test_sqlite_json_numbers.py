"""SQLite declares its JSON columns ``JSON``, a type name that gives them NUMERIC affinity: a JSON document that is
a bare number (a thread state's value, a span's input) is turned by SQLite into an INTEGER or REAL on the way in.
``0.0`` then comes back as ``0``, and some doubles come back one unit in the last place off (SQLite 3.40's text to
REAL conversion is not always exact). The other backends return what was written. Found by the 1.x fuzz; a known
defect until the columns get TEXT affinity (a table rebuild on SQLite), hence strict xfail.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mastra_store import SqliteStore

#: 0.0 loses its type; the second loses its last digit (-2.2606631148481382e-299 comes back).
NUMBERS = [0.0, -2.2606631148481385e-299]

pytestmark = pytest.mark.xfail(strict=True, reason="SQLite JSON columns have NUMERIC affinity (reported)")


@pytest.mark.parametrize("value", NUMBERS)
async def test_thread_state_number_comes_back_as_written(lite: SqliteStore, value: float) -> None:
    await lite.thread_state.set_state(thread_id="t1", type="x", value=value)
    got = await lite.thread_state.get_state(thread_id="t1", type="x")
    assert type(got) is float and got == value


@pytest.mark.parametrize("value", NUMBERS)
async def test_span_input_number_comes_back_as_written(lite: SqliteStore, value: float) -> None:
    span = {"traceId": "tr", "spanId": "sp", "name": "n", "spanType": "generic", "startedAt": datetime.now(UTC)}
    await lite.observability.create_span(span={**span, "input": value})
    got = await lite.observability.get_span(trace_id="tr", span_id="sp")
    assert got is not None and type(got.input) is float and got.input == value
