"""Transcript events: one JSON object a line of ``transcript.jsonl`` (docs/contract.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from harness.schema.base import FORMAT_VERSION, Author, Channel, Phase, Strict
from harness.schema.data import PositionCard

# --------------------------------------------------------------------------------------------------
# Transcript events (transcript.jsonl)
# --------------------------------------------------------------------------------------------------


class Usage(Strict):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    model: str = ""


class BackendInfo(Strict):
    """Which endpoint answered. Never holds a key."""

    profile: str
    base_url: str | None = None
    model: str | None = None


class ScenarioRef(Strict):
    id: str
    version: str
    path: str
    sha256: str


class Sampling(Strict):
    temperature: float | None = None
    seed: int | None = None
    max_tokens: int | None = None


class Parent(Strict):
    run_id: str
    move: str


class EventBase(Strict):
    v: Literal[1] = 1
    seq: int = 0
    key: str
    t: str = ""


class ManifestEvent(EventBase):
    event: Literal["manifest"] = "manifest"
    run_id: str
    format_version: int = FORMAT_VERSION
    created: str
    harness_version: str
    git_sha: str | None = None
    source: Literal["simulation", "import"] = "simulation"
    description: str | None = Field(
        default=None, description="what the record says of itself (an import's text before its first move)"
    )
    scenario: ScenarioRef
    personas: dict[str, str] = Field(default_factory=dict)
    prompts: dict[str, str] = Field(default_factory=dict)
    rubrics: dict[str, str] = Field(default_factory=dict, description="axis -> sha256 of its rubric file")
    data_paths: dict[str, list[str]] = Field(
        default_factory=dict,
        description="personas/rubrics/prompts -> folders searched, first first ('<bundled>': the defaults)",
    )
    backend: BackendInfo
    sampling: Sampling = Field(default_factory=Sampling)
    parent: Parent | None = None
    human_seats: list[str] = Field(default_factory=list)
    model_for: dict[str, str] = Field(
        default_factory=dict, description="delegation id -> model override (--model-for)"
    )
    overrides: dict[str, Any] = Field(default_factory=dict, description="--set KEY=VALUE of a fork")
    options: dict[str, Any] = Field(
        default_factory=dict, description="run options that shape the transcript (narrate, prompt cap…)"
    )


class InjectEvent(EventBase):
    event: Literal["inject"] = "inject"
    move: str
    title: str
    text: str
    set_questions: list[str] = Field(default_factory=list)


class UtteranceEvent(EventBase):
    event: Literal["utterance"] = "utterance"
    utterance_id: str
    move: str
    phase: Phase
    channel: Channel
    delegation: str | None
    speaker: str
    author: Author = "model"
    round: int = 0
    to: str | None = None
    text: str
    usage: Usage | None = None


class PositionCardEvent(EventBase):
    event: Literal["position_card"] = "position_card"
    move: str
    delegation: str
    author: Author = "model"
    card: PositionCard
    usage: Usage | None = None


class AdjudicationEvent(EventBase):
    event: Literal["adjudication"] = "adjudication"
    move: str
    text: str
    scripted: bool
    next_move: str | None = None


class ErrorEvent(EventBase):
    event: Literal["error"] = "error"
    move: str | None = None
    where: str
    kind: str
    message: str


class ResumeEvent(EventBase):
    event: Literal["resume"] = "resume"
    at_seq: int
    backend: BackendInfo


class Totals(Strict):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0


class RunEndEvent(EventBase):
    event: Literal["run_end"] = "run_end"
    status: Literal["completed", "failed", "interrupted"]
    totals: Totals = Field(default_factory=Totals)


Event = Annotated[
    ManifestEvent
    | InjectEvent
    | UtteranceEvent
    | PositionCardEvent
    | AdjudicationEvent
    | ErrorEvent
    | ResumeEvent
    | RunEndEvent,
    Field(discriminator="event"),
]

EVENT_TYPES: dict[str, type[EventBase]] = {
    "manifest": ManifestEvent,
    "inject": InjectEvent,
    "utterance": UtteranceEvent,
    "position_card": PositionCardEvent,
    "adjudication": AdjudicationEvent,
    "error": ErrorEvent,
    "resume": ResumeEvent,
    "run_end": RunEndEvent,
}
