"""The versioned agents of Mastra 1.x (@mastra/core 1.71 ``StorageAgentType`` / ``AgentVersion``).

An agent is a thin record (status, active version, author, visibility, metadata); its configuration lives in
numbered versions. Fields that are NULL in storage stay unset, so ``to_mastra()`` leaves them out.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..types import PerPage, Record, UtcDateTime
from ._policy import INT32_MAX

__all__ = (
    "AGENT_STATUSES",
    "CONFIG_FIELDS",
    "AgentCreateInput",
    "AgentRecord",
    "AgentSnapshot",
    "AgentVersion",
    "AgentVersionInput",
    "AgentVersionsPage",
    "AgentsV1Page",
    "ResolvedAgent",
    "ResolvedAgentsPage",
)

AgentStatus = Literal["draft", "published", "archived"]
Visibility = Literal["private", "public"]
AGENT_STATUSES: tuple[str, ...] = ("draft", "published", "archived")
#: A config value: an object, or a list of conditional variants (``StorageConditionalField``).
Json = dict[str, Any] | list[Any]
Instructions = str | list[dict[str, Any]]


class _Config(Record):
    """The optional configuration fields of a version (``StorageAgentSnapshotType``)."""

    description: str | None = None
    tools: Json | None = None
    default_options: Json | None = None
    workflows: Json | None = None
    agents: Json | None = None
    integration_tools: Json | None = None
    tool_providers: Json | None = None
    input_processors: Json | None = None
    output_processors: Json | None = None
    memory: Json | None = None
    scorers: Json | None = None
    mcp_clients: Json | None = None
    workspace: Json | None = None
    browser: Json | None = None
    skills: Json | None = None
    skills_format: Literal["xml", "json", "markdown"] | None = None
    durable: Json | bool | None = None
    request_context_schema: dict[str, Any] | None = None

    def to_mastra(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json", exclude_unset=True)


class AgentSnapshot(_Config):
    name: str = Field(min_length=1)
    instructions: Instructions
    model: Json


#: Snapshot (configuration) field names, snake_case, in the column order of ``mastra_agent_versions``.
CONFIG_FIELDS: tuple[str, ...] = (
    "name",
    "description",
    "instructions",
    "model",
    *(f for f in _Config.model_fields if f != "description"),
)


class AgentCreateInput(AgentSnapshot):
    id: str = Field(min_length=1)
    author_id: str | None = None
    visibility: Visibility | None = None
    metadata: dict[str, Any] | None = None


class AgentRecord(Record):
    """The thin ``mastra_agents`` row."""

    id: str
    status: AgentStatus
    active_version_id: str | None = None
    author_id: str | None = None
    visibility: Visibility | None = None
    metadata: dict[str, Any] | None = None
    favorite_count: int = 0
    created_at: UtcDateTime
    updated_at: UtcDateTime

    def to_mastra(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json", exclude_unset=True)


class AgentVersionInput(AgentSnapshot):
    id: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    version_number: int = Field(ge=1, le=INT32_MAX, strict=True)  # a PostgreSQL integer column
    changed_fields: list[str] | None = None
    change_message: str | None = None


class AgentVersion(AgentVersionInput):
    created_at: UtcDateTime


class ResolvedAgent(AgentRecord, _Config):
    """An agent merged with one of its versions (``StorageResolvedAgentType``); without any version the
    configuration fields stay unset."""

    name: str | None = None
    instructions: Instructions | None = None
    model: Json | None = None
    resolved_version_id: str | None = None


class _Page(Record):
    def to_mastra(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json", exclude_unset=True)  # nested NULLs stay absent


class AgentsV1Page(_Page):
    agents: list[AgentRecord]
    total: int
    page: int
    per_page: PerPage
    has_more: bool


class ResolvedAgentsPage(_Page):
    agents: list[ResolvedAgent]
    total: int
    page: int
    per_page: PerPage
    has_more: bool


class AgentVersionsPage(_Page):
    versions: list[AgentVersion]
    total: int
    page: int
    per_page: PerPage
    has_more: bool
