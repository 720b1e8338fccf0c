"""``Memory``: the storage-facing half of ``@mastra/memory`` 1.31 — saving messages with their embeddings and
recalling the context an agent sees (the last N messages plus the semantic hits with their neighbours).

What it does as the reference does, so that a Node ``Memory`` and this one share an index:

* index ``memory_messages`` for 1536 dimensions, else ``memory_messages_<dim>``, created with
  ``metadata_indexes=["thread_id", "resource_id"]`` (and the optional ``index_config``);
* each message's text (``content.content``, else its text parts joined by a space) is cut into chunks of
  4096 tokens x 4 characters on whitespace (``chunkText``), each chunk one vector with metadata
  ``{**thread.metadata, message_id, thread_id, resource_id, role, content, created_at}``; system messages are
  neither saved nor embedded;
* recall: the query text is embedded (each chunk queried), filtered by ``{resource_id}`` (scope ``resource``,
  the default) or ``{thread_id}``, a user ``filter`` joined with ``$and``; hits under ``threshold`` dropped; then
  ONE ``list_messages`` call: the newest ``last_messages`` of the thread plus an include window
  ``{id, thread_id, with_previous_messages, with_next_messages}`` per hit; returned oldest first, each id once;
* deleting a thread or messages deletes their vectors in every ``memory_messages*`` index.

Differences: all texts of one ``save_messages`` call are embedded in one embedder call (the reference calls it
per message); embeddings are cached by text (LRU, 1000 entries) as the reference does.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from ..errors import ErrorCategory, MastraError, ValidationError
from ..records.memory import MastraDBMessage, StorageThread
from ..vector.base import QueryResult, VectorStore

__all__ = ("CHARS_PER_TOKEN", "Embedder", "Memory", "RecallResult", "SemanticRecall", "chunk_text", "index_name")

Embedder = Callable[[list[str]], Awaitable[Sequence[Sequence[float]]]]
CHARS_PER_TOKEN = 4
DEFAULT_DIMENSION = 1536
INDEX_PREFIX = "memory_messages"
DELETE_BATCH = 1000
_WS = re.compile(r"\s+")


def index_name(dimension: int) -> str:
    """The reference's ``getEmbeddingIndexName``."""
    return INDEX_PREFIX if dimension == DEFAULT_DIMENSION else f"{INDEX_PREFIX}_{dimension}"


def chunk_text(text: str, token_size: int = 4096) -> list[str]:
    """The reference's ``chunkText``: words (split on whitespace) packed into chunks of ``token_size * 4``
    characters; a longer word is cut into pieces of that size."""
    size = token_size * CHARS_PER_TOKEN
    chunks: list[str] = []
    current = ""
    for word in _WS.split(text):
        if len(word) > size:
            if current:
                chunks.append(current)
                current = ""
            chunks.extend(word[i:i + size] for i in range(0, len(word), size))
            continue
        piece = " " + word if current else word
        if len(current) + len(piece) > size:
            if current:
                chunks.append(current)
            current = word
        else:
            current += piece
    if current:
        chunks.append(current)
    return chunks


class MessageRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    before: int = Field(default=1, ge=0, le=1000)
    after: int = Field(default=1, ge=0, le=1000)


class SemanticRecall(BaseModel):
    """``semanticRecall`` options (snake_case or the reference's camelCase keys)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    top_k: int = Field(default=4, ge=1, le=1000, alias="topK")
    message_range: int | MessageRange = Field(default_factory=MessageRange, alias="messageRange")
    scope: Literal["resource", "thread"] = "resource"
    threshold: float | None = None
    filter: dict[str, Any] | None = None
    index_config: dict[str, Any] | None = Field(default=None, alias="indexConfig")

    def window(self) -> tuple[int, int]:
        """``(before, after)``: how many messages around each recalled one are included."""
        if isinstance(self.message_range, int):
            if self.message_range < 0:
                raise ValueError("message_range must be >= 0")
            return self.message_range, self.message_range
        return self.message_range.before, self.message_range.after


class RecallResult(BaseModel):
    """``messages``: the context, oldest first; ``hits``: the vector hits that chose the windows."""

    messages: list[MastraDBMessage]
    hits: list[QueryResult] = Field(default_factory=list)


def _user(op: str, field: str, reason: str) -> ValidationError:
    return ValidationError(id=f"MASTRA_MEMORY_{op}_INVALID_INPUT", field=field, reason=reason)


def _iso(value: datetime | None) -> str:
    """JS ``Date.toISOString()`` of a stored timestamp (what the reference writes to ``created_at``)."""
    value = (value or datetime.now(UTC)).astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def message_text(message: MastraDBMessage) -> str | None:
    """The text the reference embeds: ``content.content``, else the text parts joined by one space."""
    content = message.content
    if isinstance(content, str):
        return content if content.strip() else None
    if isinstance(content.content, str) and content.content.strip():
        return content.content
    joined = " ".join(str(p.get("text", "")) for p in content.parts if p.get("type") == "text").strip()
    return joined or None


class Memory:
    """``Memory(storage=store, vector=PgVector(...), embedder=embed, last_messages=10,
    semantic_recall={"top_k": 3, "message_range": 2})``.

    ``storage``: a store (``store.memory`` is used), a composite, or a memory domain. ``embedder``: any async
    callable ``list[str] -> list[list[float]]``. ``working_memory``: ``{"enabled": True, "scope": "resource"}``.
    """

    def __init__(
        self,
        *,
        storage: Any,
        vector: VectorStore | None = None,
        embedder: Embedder | None = None,
        last_messages: int | Literal[False] = 10,
        semantic_recall: bool | Mapping[str, Any] | SemanticRecall = False,
        working_memory: Mapping[str, Any] | None = None,
        embedding_cache_size: int = 1000,
    ) -> None:
        if not (hasattr(storage, "get_store") or hasattr(storage, "memory")
                or (hasattr(storage, "save_messages") and hasattr(storage, "list_messages"))):
            raise _user("INIT", "storage", "must be a store, a composite store or a memory domain")
        if vector is not None and not isinstance(vector, VectorStore):
            raise _user("INIT", "vector", "must be a mastra_store.vector store")
        if embedder is not None and not callable(embedder):
            raise _user("INIT", "embedder", "must be an async callable list[str] -> list[list[float]]")
        self._storage = storage
        self.vector = vector
        self.embedder = embedder
        self.last_messages = self._last_messages(last_messages, "INIT")
        self.semantic_recall = self._semantic(semantic_recall, "INIT")
        wm = dict(working_memory or {})
        self.working_memory_enabled = bool(wm.get("enabled", False))
        self.working_memory_scope: str = wm.get("scope", "resource")
        if self.working_memory_scope not in ("resource", "thread"):
            raise _user("INIT", "working_memory.scope", "must be 'resource' or 'thread'")
        if self.semantic_recall is not None and (vector is None or embedder is None):
            raise _user("INIT", "semantic_recall", "semantic recall needs a vector store and an embedder")
        self._cache: OrderedDict[str, tuple[list[str], list[list[float]]]] = OrderedDict()
        self._cache_size = embedding_cache_size
        self._indexes_ready: set[str] = set()
        self._wm_locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------------------------------- config
    @staticmethod
    def _last_messages(value: Any, op: str) -> int | Literal[False]:
        if value is False:
            return False
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _user(op, "last_messages", "must be a non-negative integer or False")
        return value

    @staticmethod
    def _semantic(value: Any, op: str) -> SemanticRecall | None:
        if value is False or value is None:
            return None
        if value is True:
            return SemanticRecall()
        if isinstance(value, SemanticRecall):
            return value
        if not isinstance(value, Mapping):
            raise _user(op, "semantic_recall", "must be a boolean or an object")
        try:
            cfg = SemanticRecall.model_validate(dict(value))
            cfg.window()
        except (PydanticError, ValueError) as exc:
            raise _user(op, "semantic_recall", str(exc).splitlines()[0] if str(exc) else "invalid") from None
        return cfg

    async def _memory(self) -> Any:
        storage = self._storage
        if hasattr(storage, "save_messages") and hasattr(storage, "list_messages"):
            return storage
        if hasattr(storage, "get_store"):
            domain = await storage.get_store("memory")
            if domain is not None:
                return domain
        return storage.memory

    # ------------------------------------------------------------------------------------------- embedding
    async def embed(self, texts: Sequence[str]) -> list[tuple[list[str], list[list[float]]]]:
        """Chunks and their vectors for each text; one embedder call for every chunk not cached yet."""
        if self.embedder is None:
            raise _user("EMBED", "embedder", "this Memory has no embedder")
        todo: dict[str, list[str]] = {}
        for text in texts:
            if text not in self._cache and text not in todo:
                todo[text] = chunk_text(text)
        if todo:
            flat = [chunk for chunks in todo.values() for chunk in chunks]
            try:
                vectors = [list(map(float, v)) for v in await self.embedder(flat)]
            except MastraError:
                raise
            except Exception as exc:
                raise MastraError(id="MASTRA_MEMORY_EMBED_FAILED", category=ErrorCategory.THIRD_PARTY,
                                  text=f"the embedder failed: {exc}", cause=exc) from exc
            if len(vectors) != len(flat) or len({len(v) for v in vectors}) > 1:
                raise MastraError(id="MASTRA_MEMORY_EMBED_FAILED", category=ErrorCategory.THIRD_PARTY,
                                  text="the embedder must return one vector of one dimension per text")
            pos = 0
            for text, chunks in todo.items():
                self._remember(text, chunks, vectors[pos:pos + len(chunks)])
                pos += len(chunks)
        out = []
        for text in texts:
            self._cache.move_to_end(text)
            out.append(self._cache[text])
        return out

    def _remember(self, text: str, chunks: list[str], vectors: list[list[float]]) -> None:
        self._cache[text] = (chunks, vectors)
        while len(self._cache) > max(self._cache_size, 1):
            self._cache.popitem(last=False)

    async def _ensure_index(self, dimension: int, cfg: SemanticRecall) -> str:
        assert self.vector is not None
        name = index_name(dimension)
        if name not in self._indexes_ready:
            ic = cfg.index_config or {}
            kwargs: dict[str, Any] = {"index_name": name, "dimension": dimension,
                                      "metadata_indexes": ["thread_id", "resource_id"]}
            if ic.get("metric"):
                kwargs["metric"] = ic["metric"]
            config = {k: ic[k] for k in ("type", "ivf", "hnsw") if ic.get(k)}
            if config:
                kwargs["index_config"] = config
            await self.vector.create_index(**kwargs)
            self._indexes_ready.add(name)
        return name

    # ------------------------------------------------------------------------------------------- save
    async def save_messages(self, messages: Sequence[MastraDBMessage | Mapping[str, Any]]) -> list[MastraDBMessage]:
        """Save messages (system messages are skipped, as the reference does) and, with semantic recall on,
        upsert one vector per chunk of each message's text in one batch."""
        if not isinstance(messages, list | tuple):
            raise _user("SAVE_MESSAGES", "messages", "must be an array of messages")
        kept = [m for m in messages if (m.role if isinstance(m, MastraDBMessage) else
                                         (m.get("role") if isinstance(m, Mapping) else None)) != "system"]
        if not kept:
            return []
        memory = await self._memory()
        saved: list[MastraDBMessage] = list((await memory.save_messages(messages=kept)).messages)
        cfg = self.semantic_recall
        if cfg is None or self.vector is None:
            return saved
        texts = {m.id: t for m in saved if (t := message_text(m)) is not None}
        if not texts:
            return saved
        thread_ids = list(dict.fromkeys(m.thread_id for m in saved if m.thread_id))
        threads = await asyncio.gather(*(memory.get_thread_by_id(thread_id=t) for t in thread_ids))
        thread_md = {t: (th.metadata or {}) if th else {} for t, th in zip(thread_ids, threads, strict=True)}
        embedded = await self.embed(list(texts.values()))
        vectors: list[list[float]] = []
        metadata: list[dict[str, Any]] = []
        by_id = dict(zip(texts, embedded, strict=True))
        for m in saved:
            if m.id not in by_id:
                continue
            chunks, vecs = by_id[m.id]
            md = {**thread_md.get(m.thread_id or "", {}), "message_id": m.id, "thread_id": m.thread_id,
                  "resource_id": m.resource_id, "role": m.role, "content": texts[m.id],
                  "created_at": _iso(m.created_at)}
            vectors.extend(vecs)
            metadata.extend(dict(md) for _ in chunks)
        name = await self._ensure_index(len(vectors[0]), cfg)
        await self.vector.upsert(index_name=name, vectors=vectors, metadata=metadata)
        return saved

    remember = save_messages

    # ------------------------------------------------------------------------------------------- recall
    async def recall(
        self,
        *,
        thread_id: str,
        resource_id: str | None = None,
        query: str | None = None,
        last_messages: int | Literal[False] | None = None,
        semantic_recall: bool | Mapping[str, Any] | SemanticRecall | None = None,
    ) -> RecallResult:
        """The context the reference's ``recall`` returns for ``vectorSearchString=query``: the newest
        ``last_messages`` of the thread plus each semantic hit with its ``message_range`` neighbours, deduplicated,
        oldest first, read in one ``list_messages`` call."""
        op = "RECALL"
        if not isinstance(thread_id, str) or not thread_id.strip():
            raise _user(op, "thread_id", "must be a non-empty string")
        if resource_id is not None and (not isinstance(resource_id, str) or not resource_id.strip()):
            raise _user(op, "resource_id", "must be a non-empty string")
        if query is not None and not isinstance(query, str):
            raise _user(op, "query", "must be a string")
        history = self.last_messages if last_messages is None else self._last_messages(last_messages, op)
        cfg = self.semantic_recall if semantic_recall is None else self._semantic(semantic_recall, op)
        memory = await self._memory()
        searching = cfg is not None and bool(query) and self.vector is not None and self.embedder is not None
        if history is False and not searching:
            return RecallResult(messages=[])
        if resource_id is not None:
            thread: StorageThread | None = await memory.get_thread_by_id(thread_id=thread_id)
            if thread is None and (cfg is None or cfg.scope == "thread"):
                raise _user(op, "thread_id", f"no thread found with id {thread_id}")
            if thread is not None and thread.resource_id != resource_id:
                raise _user(op, "resource_id", f"thread {thread_id} is for resource {thread.resource_id}, "
                                               f"not {resource_id}")
        hits: list[QueryResult] = []
        if searching:
            assert cfg is not None and query is not None and self.vector is not None
            if cfg.scope == "resource" and resource_id is None:
                raise _user(op, "resource_id", "resource-scoped semantic recall needs a resource_id "
                                               "(or scope 'thread')")
            [(_, vectors)] = await self.embed([query])
            name = await self._ensure_index(len(vectors[0]), cfg)
            scope: dict[str, Any] = (
                {"resource_id": resource_id} if cfg.scope == "resource" else {"thread_id": thread_id})
            flt = {"$and": [scope, cfg.filter]} if cfg.filter else scope
            found = await asyncio.gather(*(self.vector.query(index_name=name, query_vector=v, top_k=cfg.top_k,
                                                             filter=flt) for v in vectors))
            hits = [h for group in found for h in group]
            if cfg.threshold is not None:
                hits = [h for h in hits if h.score >= cfg.threshold]
        before, after = cfg.window() if cfg is not None else (0, 0)
        include = [{"id": h.metadata.get("message_id"), "thread_id": h.metadata.get("thread_id"),
                    "with_previous_messages": before, "with_next_messages": after}
                   for h in hits if isinstance(h.metadata.get("message_id"), str)]
        page = await memory.list_messages(
            thread_id=thread_id, resource_id=resource_id, per_page=0 if history is False else history, page=0,
            order_by={"field": "createdAt", "direction": "DESC"}, include=include or None)
        seen: dict[str, MastraDBMessage] = {}
        for m in reversed(page.messages):
            seen.setdefault(m.id, m)
        ordered = sorted(seen.values(), key=lambda m: (m.created_at or datetime.min.replace(tzinfo=UTC), m.id))
        return RecallResult(messages=ordered, hits=hits)

    # ------------------------------------------------------------------------------------------- deletes
    async def _memory_indexes(self) -> list[str]:
        assert self.vector is not None
        return [n for n in await self.vector.list_indexes() if n.startswith(INDEX_PREFIX)]

    async def delete_thread(self, thread_id: str) -> None:
        """Delete the thread, its messages and their vectors (every ``memory_messages*`` index)."""
        memory = await self._memory()
        await memory.delete_thread(thread_id=thread_id)
        if self.vector is not None:
            for name in await self._memory_indexes():
                await self.vector.delete_vectors(index_name=name, filter={"thread_id": thread_id})

    async def delete_messages(self, message_ids: Sequence[str]) -> None:
        """Delete messages and their vectors."""
        if not isinstance(message_ids, list | tuple) or not all(isinstance(i, str) and i for i in message_ids):
            raise _user("DELETE_MESSAGES", "message_ids", "must be an array of non-empty strings")
        if not message_ids:
            return
        memory = await self._memory()
        await memory.delete_messages(message_ids=list(message_ids))
        if self.vector is not None:
            for name in await self._memory_indexes():
                for i in range(0, len(message_ids), DELETE_BATCH):
                    batch = list(message_ids[i:i + DELETE_BATCH])
                    await self.vector.delete_vectors(index_name=name, filter={"message_id": {"$in": batch}})

    # ------------------------------------------------------------------------------------------- working memory
    async def get_working_memory(self, *, thread_id: str, resource_id: str | None = None) -> str | None:
        """Resource scope: the resource's ``workingMemory``; thread scope: ``thread.metadata.workingMemory``."""
        memory = await self._memory()
        if self.working_memory_scope == "resource":
            if not resource_id:
                raise _user("GET_WORKING_MEMORY", "resource_id", "resource-scoped working memory needs a resource_id")
            resource = await memory.get_resource_by_id(resource_id=resource_id)
            return resource.working_memory if resource else None
        thread = await memory.get_thread_by_id(thread_id=thread_id)
        value = (thread.metadata or {}).get("workingMemory") if thread else None
        return value if isinstance(value, str) else None

    async def update_working_memory(self, *, thread_id: str, working_memory: str, resource_id: str | None = None
                                    ) -> None:
        """Replace the working memory text (of the resource or the thread, per ``working_memory_scope``)."""
        op = "UPDATE_WORKING_MEMORY"
        if not self.working_memory_enabled:
            raise _user(op, "working_memory", "working memory is not enabled for this Memory")
        if not isinstance(working_memory, str):
            raise _user(op, "working_memory", "must be a string")
        memory = await self._memory()
        if self.working_memory_scope == "resource":
            if not resource_id:
                raise _user(op, "resource_id", "resource-scoped working memory needs a resource_id")
            await memory.update_resource(resource_id=resource_id, working_memory=working_memory)
            return
        lock = self._wm_locks.setdefault(thread_id, asyncio.Lock())
        async with lock:
            thread = await memory.get_thread_by_id(thread_id=thread_id)
            if thread is None:
                raise _user(op, "thread_id", f"thread {thread_id} not found")
            # update_thread merges metadata atomically; the title is kept.
            await memory.update_thread(id=thread_id, title=thread.title or "",
                                       metadata={"workingMemory": working_memory})
