"""The recall part of ``make demo``: a conversation saved with embeddings, then the context an agent would get
for a new question (last messages + semantic hits with their neighbours), with a tiny deterministic embedder."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from .._time import now
from ..store import BaseStore
from ..vector import SqliteVector
from .embedders import HashEmbedder
from .memory import Memory

LINES = [
    ("user", "I want to visit Lisbon in May."),
    ("assistant", "Lisbon in May is sunny; shall I look for hotels?"),
    ("user", "Yes, a quiet hotel near Alfama please."),
    ("assistant", "Memmo Alfama and Solar do Castelo are quiet hotels near Alfama."),
    ("user", "Book Solar do Castelo for three nights."),
    ("assistant", "Booked: Solar do Castelo, three nights from May 9."),
    ("user", "Also, what is the weather like in Porto?"),
    ("assistant", "Porto is a little cooler and rainier than Lisbon."),
    ("user", "And can you recommend a restaurant for seafood?"),
    ("assistant", "Try Cervejaria Ramiro for seafood."),
]


async def run_recall_demo(store: BaseStore, say: Any = print) -> dict[str, Any]:
    """Save ``LINES`` with embeddings and recall for a new question; returns what was recalled."""
    run = uuid.uuid4().hex[:8]
    t0 = now()
    resource_id, thread_id = f"traveller-{run}", f"trip-{run}"
    await store.memory.save_thread(thread={"id": thread_id, "resourceId": resource_id, "title": "Lisbon trip",
                                           "createdAt": t0, "updatedAt": t0})
    async with SqliteVector(path=":memory:") as vector:
        memory = Memory(storage=store, vector=vector, embedder=HashEmbedder(256), last_messages=2,
                        semantic_recall={"top_k": 2, "message_range": 1})
        await memory.save_messages([
            {"id": f"{run}-{i}", "threadId": thread_id, "resourceId": resource_id, "role": role,
             "createdAt": t0 + timedelta(seconds=i), "content": {"format": 2, "parts": [{"type": "text", "text": t}]}}
            for i, (role, t) in enumerate(LINES)])
        question = "Which hotel near Alfama was booked?"
        result = await memory.recall(thread_id=thread_id, resource_id=resource_id, query=question)
    hit_ids = {h.metadata["message_id"] for h in result.hits}
    say(f"  {'recall':<14} question {question!r}: last 2 messages + the 2 best hits (*) with their neighbours")
    for m in result.messages:
        text = m.content.parts[0]["text"] if not isinstance(m.content, str) else m.content
        say(f"  {'':<14}  {'*' if m.id in hit_ids else ' '} {m.role:>9}: {text}")
    return {"recalled": [int(m.id.rsplit("-", 1)[1]) for m in result.messages],
            "hits": sorted(int(i.rsplit("-", 1)[1]) for i in hit_ids)}
