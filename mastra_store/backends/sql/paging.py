"""One-round-trip pagination and JSON bind types shared by the SQL domains (workflows, scores, agents).

A page and the total count of its filter come back from ONE statement::

    SELECT c.total, p.*
    FROM (SELECT count(*) AS total FROM t WHERE <filter>) AS c
    LEFT OUTER JOIN (SELECT <cols> FROM t WHERE <filter> ORDER BY <order> LIMIT :limit OFFSET :offset) AS p ON true
    ORDER BY <order>

The count is a one-row derived table, so a page past the end (or ``LIMIT 0``) still yields one row carrying
the total, with NULL page columns. Unlike ``count(*) OVER ()`` it never materialises the filtered rows with
their wide columns (shared/bench/floor.md, W6c). Works on PostgreSQL and SQLite alike (no LATERAL needed).

On SQLite the page is chosen over the sort keys and ``rowid`` alone and only its rows are read whole
(``by_rowid``): SQLite's sorter otherwise carried every skipped row's wide columns, and a column stored after a
5 KB snapshot sits on its overflow pages. W6c (1 000 runs, 50 per page): 3.4 → 0.8 ms at offset 950, 0.29 →
0.22 ms at offset 0. PostgreSQL keeps the plain form: there the wide values are TOASTed pointers until output,
and joining back by ``ctid`` measured slower (hash join over the table: 0.7-0.9 → 1.6 ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = ("JSON_NULLABLE", "LIMIT", "OFFSET", "OrderSpec", "opaque", "paged_select", "split_page")

#: JSON bind type that writes Python ``None`` as SQL NULL (the column types write JSON ``null``).
JSON_NULLABLE = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")

LIMIT = "page_limit"
OFFSET = "page_offset"

#: ``(column name, descending)`` pairs, most significant first.
OrderSpec = Sequence[tuple[str, bool]]


def paged_select(
    table: sa.Table,
    columns: Sequence[sa.ColumnElement[Any]],
    where: Sequence[sa.ColumnElement[bool]],
    order: OrderSpec,
    *,
    by_rowid: bool = False,
) -> sa.Select[Any]:
    """Page + total in one statement; bind ``page_limit`` and ``page_offset`` (plus the filter's params).

    ``columns`` must include every column named in ``order``. The first result column is ``total``.
    ``by_rowid`` (SQLite): pick the page by key and ``rowid``, then read its rows (see the module notes).
    """
    count = sa.select(sa.func.count().label("total")).select_from(table).where(*where).subquery("c")
    inner_order = [table.c[name].desc() if desc else table.c[name].asc() for name, desc in order]
    if by_rowid:
        keys = (
            sa.select(sa.literal_column("rowid").label("k_rowid"), *(table.c[n].label(f"k_{n}") for n, _ in order))
            .where(*where)
            .order_by(*inner_order)
            .limit(opaque(LIMIT))
            .offset(opaque(OFFSET))
            .subquery("k")
        )
        # The table's name is one of our models' (never input).
        rowid: sa.ColumnElement[Any] = sa.literal_column(f'"{table.name}".rowid')
        key_order = [keys.c[f"k_{n}"].desc() if desc else keys.c[f"k_{n}"].asc() for n, desc in order]
        return (
            sa.select(count.c.total, *columns)
            .select_from(count.outerjoin(keys, sa.true()).outerjoin(table, rowid == keys.c.k_rowid))
            .order_by(*key_order)
        )
    page = (
        sa.select(*columns)
        .where(*where)
        .order_by(*inner_order)
        .limit(opaque(LIMIT))
        .offset(opaque(OFFSET))
        .subquery("p")
    )
    outer_order = [page.c[name].desc() if desc else page.c[name].asc() for name, desc in order]
    return sa.select(count.c.total, *page.c).select_from(count.outerjoin(page, sa.true())).order_by(*outer_order)


def opaque(name: str) -> Any:
    """``(SELECT :name)``: the planner sees the same unknown LIMIT/OFFSET in every plan, so PostgreSQL keeps the
    prepared statement's generic plan. With a plain parameter each call's custom plan (knowing LIMIT 50) always
    looked cheaper than the generic one, so every call was re-planned (W6c: 0 generic / 30 custom plans,
    ~0.1 ms of planning per call; the plan itself is the same index scan either way)."""
    return sa.select(sa.bindparam(name, type_=sa.BigInteger)).scalar_subquery()


def split_page(rows: Sequence[sa.Row[Any]], key: str) -> tuple[list[sa.Row[Any]], int]:
    """Split the result of :func:`paged_select`: the page rows (those whose ``key`` is not NULL) and the total."""
    if not rows:
        return [], 0
    total = int(rows[0][0] or 0)
    return [r for r in rows if r._mapping[key] is not None], total
