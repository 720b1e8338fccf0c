"""The two table layouts a SQL store keeps (``mastra_version=``, see schema.py)."""

from __future__ import annotations

from typing import Final, Literal

__all__ = ("LAYOUTS", "Layout")

#: ``"v1"``: the tables of @mastra/pg 1.27.1; ``"beta"``: those of 1.0.0-beta.13.
Layout = Literal["beta", "v1"]
LAYOUTS: Final[tuple[Layout, ...]] = ("beta", "v1")
