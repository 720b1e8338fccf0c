"""A faster ``model_construct`` for the read hot paths (rows of our own tables, freshly decoded JSON).

pydantic's ``model_construct`` is plain Python that resolves every field's default through several calls:
~5-8 µs per record on this VM, i.e. most of what W3 (40 messages + 40 contents per call) spent building
records after validation was dropped. :class:`Constructor` precomputes the field table once per model and
produces exactly what ``model_construct`` produces (same ``__dict__``, ``fields_set``, extras).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ("Constructor", "construct")

M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__
_new = object.__new__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset)


class Constructor(Generic[M]):
    """``Constructor(Model)(values)`` == ``Model.model_construct(**values)`` for ``values`` keyed by field
    name; :meth:`from_json` also accepts aliases and keeps unknown keys as extras (``extra="allow"``),
    counting them as set, like validation does."""

    __slots__ = ("_allow_extra", "_checks", "_cls", "_factories", "_key_to_name", "_required", "_template")

    def __init__(self, cls: type[M], checks: Mapping[str, tuple[type, ...]] | None = None) -> None:
        # Our records have neither private attributes nor post-init hooks; model_construct would run them.
        assert cls.__pydantic_post_init__ is None and not cls.__private_attributes__, cls
        self._cls = cls
        #: Every field in declaration order with its immutable default (a placeholder for the others).
        self._template: dict[str, Any] = {}
        self._factories: list[tuple[str, Any]] = []
        self._required: set[str] = set()
        self._key_to_name: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            self._key_to_name[name] = name
            if info.alias:
                self._key_to_name[info.alias] = name
            self._template[name] = None
            if info.default_factory is not None:
                self._factories.append((name, info.default_factory))
            elif info.default is PydanticUndefined:
                self._required.add(name)
            elif isinstance(info.default, _IMMUTABLE):
                self._template[name] = info.default
            else:
                self._factories.append((name, lambda d=info.default: copy.deepcopy(d)))
        self._allow_extra = cls.model_config.get("extra") == "allow"
        #: ``from_json``: JSON key -> the types its value must have (else ``None`` is returned).
        self._checks = dict(checks or {})

    def __call__(self, values: Mapping[str, Any]) -> M:
        if type(values) is dict and len(values) == len(self._template) and not self._allow_extra:
            # Every field given (callers list them in declaration order): the dict becomes the record's.
            return self.finish(values, set(values), None)
        return self._build(values, set(values), None)

    def from_json(self, value: Mapping[str, Any]) -> M | None:
        """A decoded JSON object (camelCase keys) → record; unknown keys become extras if allowed.

        ``None`` when a key listed in ``checks`` holds a value of another type (the caller validates)."""
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        names = self._key_to_name
        checks = self._checks
        for key, item in value.items():
            allowed = checks.get(key)
            if allowed is not None and not isinstance(item, allowed):
                return None
            name = names.get(key)
            if name is not None:
                values[name] = item
            elif self._allow_extra:
                extra[key] = item
        fields_set = set(values)
        fields_set.update(extra)
        return self._build(values, fields_set, extra if self._allow_extra else None)

    def _build(self, values: Mapping[str, Any], fields_set: set[str], extra: dict[str, Any] | None) -> M:
        data = self._template.copy()
        data.update(values)
        for name, factory in self._factories:
            if name not in values:
                data[name] = factory()
        if self._required and not self._required <= values.keys():
            for name in self._required - values.keys():
                del data[name]  # model_construct leaves missing required fields out
        if extra is None and self._allow_extra:
            extra = {}
        return self.finish(data, fields_set, extra)

    @property
    def template(self) -> dict[str, Any]:
        """Every field with its immutable default (``None`` where a factory or a value is needed); a copy."""
        return self._template.copy()

    def finish(self, data: dict[str, Any], fields_set: set[str], extra: dict[str, Any] | None) -> M:
        """The record over ``data`` (every field, in declaration order) as is: for callers that have already
        established what :meth:`__call__` or :meth:`from_json` would check."""
        # BaseModel defines no __new__, and its four slots are set through their descriptors directly
        # (BaseModel.__setattr__ is the validating one): ~0.45 µs per record instead of ~0.62.
        obj: M = _new(self._cls)
        _set(obj, "__dict__", data)
        _set_fields_set(obj, fields_set)
        _set_extra(obj, extra)
        _set_private(obj, None)
        return obj


_constructors: dict[type[BaseModel], Constructor[Any]] = {}


def construct(cls: type[M], **values: Any) -> M:
    """``cls(**values)`` for values the library built itself (result pages of its own records): no validation.

    Validating a page re-checks every record in it with ``isinstance`` against a pydantic model class, an ABC
    check in Python (~0.35 µs each: 14 µs for W3's 40 messages)."""
    c: Constructor[M] | None = _constructors.get(cls)
    if c is None:
        c = _constructors[cls] = Constructor(cls)
    if len(values) == len(c._template):
        # Declaration order, so dumps and reprs look as after validation.
        return c.finish({name: values[name] for name in c._template}, set(values), None if not c._allow_extra else {})
    return c(values)
