"""SqliteVector: the in-memory snapshot a query searches follows writes of other connections (another process
or store object on the same file) and of its own; the table keeps LibSQLVector's layout plus a namespace."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mastra_store.vector import SqliteVector


async def test_snapshot_follows_writes_of_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    a, b = SqliteVector(path=path), SqliteVector(path=path)
    try:
        await a.create_index(index_name="idx", dimension=3)
        await a.upsert(index_name="idx", vectors=[[1, 0, 0]], ids=["x"], metadata=[{"g": "one"}])
        assert [h.id for h in await b.query(index_name="idx", query_vector=[1, 0, 0])] == ["x"]
        await a.upsert(index_name="idx", vectors=[[0, 1, 0]], ids=["y"], metadata=[{"g": "two"}])
        await a.update_vector(index_name="idx", id="x", metadata={"g": "changed"})
        hits = await b.query(index_name="idx", query_vector=[0, 1, 0], top_k=5)
        assert [(h.id, h.metadata) for h in hits] == [("y", {"g": "two"}), ("x", {"g": "changed"})]
        assert [h.id for h in await b.query(index_name="idx", query_vector=[0, 1, 0], filter={"g": "two"})] == ["y"]
        await b.delete_vectors(index_name="idx", ids=["y"])
        assert [h.id for h in await a.query(index_name="idx", query_vector=[0, 1, 0], top_k=5)] == ["x"]
    finally:
        await a.close()
        await b.close()
    conn = sqlite3.connect(path)
    try:
        cols = [(r[1], r[2]) for r in conn.execute("PRAGMA table_info(idx)")]
        assert cols == [("id", "INTEGER"), ("vector_id", "TEXT"), ("embedding", "F32_BLOB(3)"), ("metadata", "TEXT"),
                        ("namespace", "TEXT")]
        (blob,) = conn.execute("SELECT embedding FROM idx WHERE vector_id = 'x'").fetchone()
        assert blob == bytes.fromhex("0000803f0000000000000000")  # little-endian float32, libSQL's F32_BLOB
    finally:
        conn.close()
