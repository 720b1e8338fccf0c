"""PostgreSQL's JSONB containment (``doc @> wanted``) as SQLite JSON1 predicates, one statement per structure.

Every leaf becomes ``json_type(doc, :path) = … AND json_extract(doc, :path) = :value``; arrays use
``EXISTS (SELECT 1 FROM json_each(doc, :path) …)`` per wanted element. Paths and values are bound parameters, so
the statement depends only on the *skeleton* of the wanted JSON (object sizes, array lengths, leaf kinds): the
same filter shape with other keys or values reuses one cached statement. Building a statement per call (with the
values inside) made every filtered ``list_traces`` compile and keep a new statement: +170 MB per 1 000 calls.

Two walks share the slot order: :func:`skeleton` (every call: validates keys, collects the bound values) and
:class:`Builder` (once per skeleton: the SQL).
"""

from __future__ import annotations

import re
from typing import Any, Final

import sqlalchemy as sa

from ...errors import ValidationError

__all__ = ("Builder", "Skeleton", "skeleton")

#: Keys allowed in a SQLite JSON path (they are bound, and quoted inside the path, but kept to a safe set).
PATH_KEY: Final = re.compile(r"^[A-Za-z0-9_ \-]{1,128}\Z")

#: ``("o", children)``, ``("a", items)``, ``("null",)``, ``("bool",)``, ``("num",)`` or ``("text",)``.
Skeleton = tuple[Any, ...]


def _slot(name: str, i: int) -> str:
    return f"j_{name}_{i}"


def skeleton(want: Any, name: str, error_id: str, params: dict[str, Any]) -> Skeleton:
    """The skeleton of ``want`` (filter ``name``); fills ``params`` with its paths and values, in slot order."""
    counter = [0]

    def put(value: Any) -> None:
        params[_slot(name, counter[0])] = value
        counter[0] += 1

    def walk(node: Any, path: str) -> Skeleton:
        put(path)  # absolute ("$…") at the top level, a suffix of json_each's fullkey inside arrays
        if isinstance(node, dict):
            children = []
            for key, sub in node.items():
                if not isinstance(key, str) or not PATH_KEY.match(key):
                    raise ValidationError(
                        id=error_id,
                        field=f"filters.{name}",
                        reason=f"key {key!r} is not allowed (letters, digits, space, '_' and '-' only)",
                    )
                children.append(walk(sub, f'{path}."{key}"'))
            return ("o", tuple(children))
        if isinstance(node, list):
            return ("a", tuple(walk(item, "") for item in node))
        if node is None:
            return ("null",)
        if isinstance(node, bool):
            put("true" if node else "false")
            return ("bool",)
        if isinstance(node, int | float):
            put(node)
            return ("num",)
        put(str(node))
        return ("text",)

    return walk(want, "$")


class Builder:
    """The condition for one column and one skeleton; slots are allocated in :func:`skeleton`'s order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.slots = 0
        self.aliases = 0

    def _bind(self) -> sa.BindParameter[Any]:
        param: sa.BindParameter[Any] = sa.bindparam(_slot(self.name, self.slots))
        self.slots += 1
        return param

    def build(
        self, doc: sa.ColumnElement[Any], shape: Skeleton, base: sa.ColumnElement[str] | None = None
    ) -> sa.ColumnElement[bool]:
        """``doc`` contains the value of ``shape``; ``base``: json_each's fullkey when inside an array."""
        step = self._bind()
        path: sa.ColumnElement[Any] = step if base is None else base.concat(step)
        jtype = sa.func.json_type(doc, path)
        kind = shape[0]
        if kind == "o":
            return sa.and_(jtype == "object", *[self.build(doc, child, base) for child in shape[1]])
        if kind == "a":
            conds: list[sa.ColumnElement[bool]] = [jtype == "array"]
            for item in shape[1]:
                self.aliases += 1
                each = sa.func.json_each(doc, path).table_valued("fullkey").alias(f"je_{self.name}_{self.aliases}")
                conds.append(sa.exists().select_from(each).where(self.build(doc, item, each.c.fullkey)))
            return sa.and_(*conds)
        if kind == "null":
            return jtype == "null"
        if kind == "bool":
            return jtype == self._bind()
        if kind == "num":
            return sa.and_(jtype.in_(("integer", "real")), sa.func.json_extract(doc, path) == self._bind())
        return sa.and_(jtype == "text", sa.func.json_extract(doc, path) == self._bind())
