"""A tiny deterministic embedder for tests and demos (no model download): hashed bag of words.

Each lower-cased word (``[a-z0-9]+``) adds ±1 to the coordinate ``fnv1a32(word) % dimension`` (sign from the
hash's top bit); the vector is L2-normalised. Texts sharing words get high cosine scores. The same function is
written in JavaScript in ``tests/interop/node/v1_vector_io.mjs`` so both sides embed identically.
"""

from __future__ import annotations

import math
import re

__all__ = ("HashEmbedder", "hash_embed")

_WORD = re.compile(r"[a-z0-9]+")


def _fnv1a32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def hash_embed(text: str, dimension: int) -> list[float]:
    vec = [0.0] * dimension
    for word in _WORD.findall(text.lower()):
        h = _fnv1a32(word.encode("utf-8"))
        vec[h % dimension] += -1.0 if h & 0x80000000 else 1.0
    norm = math.sqrt(sum(x * x for x in vec))
    if norm == 0:
        vec[0] = 1.0
        return vec
    return [x / norm for x in vec]


class HashEmbedder:
    """``await HashEmbedder(384)(["some text"])`` -> one unit vector per text; counts its calls."""

    def __init__(self, dimension: int = 384) -> None:
        self.dimension = dimension
        self.calls = 0

    async def __call__(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return [hash_embed(t, self.dimension) for t in texts]
