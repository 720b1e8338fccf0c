"""Stored agent configurations (spec §2.5)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..types import PerPage, Record, UtcDateTime

__all__ = ("AgentsPage", "ScorerConfig", "StorageAgent", "StorageCreateAgentInput")


class ScorerSampling(Record):
    type: Literal["ratio", "count"]
    rate: float | None = None
    count: int | None = None


class ScorerConfig(Record):
    sampling: ScorerSampling | None = None


class StorageCreateAgentInput(Record):
    id: str = Field(min_length=1)
    name: str
    description: str | None = None
    instructions: str
    model: dict[str, Any]
    tools: list[str] | None = None
    default_options: dict[str, Any] | None = None
    workflows: list[str] | None = None
    agents: list[str] | None = None
    input_processors: list[dict[str, Any]] | None = None
    output_processors: list[dict[str, Any]] | None = None
    memory: str | None = None
    scorers: dict[str, ScorerConfig] | None = None
    metadata: dict[str, Any] | None = None


class StorageAgent(StorageCreateAgentInput):
    """A stored agent. Fields that are NULL in storage are left unset (absent from ``to_mastra``)."""

    created_at: UtcDateTime
    updated_at: UtcDateTime

    def to_mastra(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json", exclude_unset=True)


class AgentsPage(Record):
    agents: list[StorageAgent]
    total: int
    page: int
    per_page: PerPage
    has_more: bool
