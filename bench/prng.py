"""mulberry32, bit-identical to the reference harness's JavaScript ``rand()``.

JS ``Math.imul`` is a 32-bit wrapping multiply and ``x >>> 0`` reinterprets as unsigned; keeping every
intermediate masked to 32 bits gives the same bit patterns (a JS ``t + imul(...)`` may exceed 32 bits, but the
following ``^`` truncates it modulo 2**32, which is what the mask does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ("Mulberry32", "imul")

_M32 = 0xFFFFFFFF
T = TypeVar("T")


def imul(a: int, b: int) -> int:
    """``Math.imul`` on unsigned 32-bit patterns, result as an unsigned 32-bit pattern."""
    return ((a & _M32) * (b & _M32)) & _M32


class Mulberry32:
    """The reference's seeded PRNG; ``draws`` counts the numbers handed out (reported on the total line)."""

    __slots__ = ("draws", "state")

    def __init__(self, seed: int | float | str = 42) -> None:
        # JS: Number(env ?? '42') >>> 0
        self.state = int(float(seed)) & _M32
        self.draws = 0

    def rand(self) -> float:
        """The next number in [0, 1)."""
        self.draws += 1
        self.state = (self.state + 0x6D2B79F5) & _M32
        t = self.state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & _M32
        return ((t ^ (t >> 14)) & _M32) / 4294967296

    def pick(self, items: Sequence[T]) -> T:
        """``arr[Math.floor(rand() * arr.length)]``."""
        return items[int(self.rand() * len(items))]
