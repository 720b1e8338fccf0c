"""Assembling the page of ``list_messages`` / ``list_messages_by_resource_id`` from what a backend returned."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, Literal

from ..records._construct import construct
from ..records.memory import MastraDBMessage, MessagesPage
from ..types import MAX_SAFE_INTEGER, normalize_per_page
from ._memory_rules import message_matches
from ._messages import normalize_messages, sort_messages

if TYPE_CHECKING:
    from .memory import MessageQuery

__all__ = ("finish_messages_page",)

#: (created_at, id): the order of messages; DESC reverses both (1.x breaks ties by id in the same direction).
_BY_DATE_ID = operator.attrgetter("created_at", "id")


def finish_messages_page(
    q: MessageQuery,
    rows: list[MastraDBMessage],
    total: int,
    included: list[MastraDBMessage],
    metadata: dict[str, Any] | None,
    page: int,
    per_page: Any,
    per_page_out: int | Literal[False],
    include_total: bool,
) -> MessagesPage:
    """The page a list call returns, by 1.x's rules: the metadata filter applied after the read, ``per_page=0``
    answering total 0, ``include_total=False``'s total, and ``has_more`` as 1.x computes it for each case."""
    normalized = normalize_per_page(per_page, 40)
    offset = 0 if per_page is False else min(page * normalized, MAX_SAFE_INTEGER)  # binds as int64
    if normalized == 0:
        total = 0  # 1.x: a perPage 0 call returns the include windows only, and total 0
    if metadata is not None and normalized:
        rows = [m for m in sort_messages(rows) if message_matches(m, metadata)]
        if q.direction == "DESC":
            rows.reverse()
        total = len(rows)
        rows = rows[offset : offset + normalized]
    if total == 0 and not included:
        return construct(MessagesPage, messages=[], total=0, page=page, per_page=per_page_out, has_more=False)
    # Ascending by (created_at, id). A page without include windows has unique ids and dated format-2 content
    # straight from the backend: sorting it is all that is needed.
    messages = normalize_messages([*rows, *included]) if included or q.include else sort_messages(rows)
    if q.direction == "DESC":
        messages.sort(key=_BY_DATE_ID, reverse=True)
    if metadata is not None:
        has_more = per_page is not False and offset + len(rows) < total
    elif not include_total:
        # 1.x skips the count: total = offset + rows returned; has_more is what a peek at one more row gives.
        has_more = per_page is not False and offset + normalized < total
        total = len(rows) if per_page is False else offset + len(rows)
    elif q.thread_ids:
        if q.include:
            wanted = set(q.thread_ids)
            returned_own = sum(1 for m in messages if m.thread_id in wanted)
        else:
            returned_own = len(messages)  # the page holds only the queried threads' messages
        has_more = per_page is not False and returned_own < total and offset + normalized < total
    else:  # by resource: 1.x does not count the windows here
        has_more = per_page is not False and offset + normalized < total
    return construct(MessagesPage, messages=messages, total=total, page=page, per_page=per_page_out, has_more=has_more)
