"""Index management records (spec §1.12)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..types import Record

__all__ = ("CreateIndexOptions", "IndexInfo", "IndexMethod", "StorageIndexStats")

IndexMethod = Literal["btree", "hash", "gin", "gist", "spgist", "brin"]


class CreateIndexOptions(Record):
    name: str
    table: str
    columns: list[str] = Field(min_length=1)
    unique: bool = False
    concurrent: bool = True
    where: str | None = None
    method: IndexMethod = "btree"
    opclass: str | None = None
    storage: dict[str, str | int | float | bool] | None = None
    tablespace: str | None = None


class IndexInfo(Record):
    name: str
    table: str
    columns: list[str]
    unique: bool
    size: str
    definition: str


class StorageIndexStats(IndexInfo):
    method: str = "btree"
    scans: int = 0
    tuples_read: int = 0
    tuples_fetched: int = 0
