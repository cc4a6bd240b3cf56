"""Request bodies the room accepts (pydantic: a bad one is a 422 with the field and the reason), and the
scenarios a run can be started from."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.annotations import Annotation
from harness.errors import HarnessError
from harness.llm.profiles import PROFILES
from harness.loaders import load_scenario
from harness.schema import Ident

log = logging.getLogger(__name__)


class StartForm(BaseModel):
    """``POST /api/runs``: a scenario (a file in the room's scenarios folder) and a backend profile."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    scenario: str = Field(min_length=1, max_length=200)
    backend: str | None = Field(default=None, max_length=40)
    base_url: str | None = Field(default=None, max_length=500)
    model: str | None = Field(default=None, max_length=200)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    human: list[Ident] = Field(default_factory=list, max_length=8)
    run_id: Ident | None = None

    @field_validator("backend", "base_url", "model", "run_id", "seed", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("human", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return []
        return [v] if isinstance(v, str) else v

    @field_validator("backend")
    @classmethod
    def _known_profile(cls, v: str | None) -> str | None:
        if v is not None and v not in PROFILES:
            raise ValueError(f"unknown backend {v!r}: choose one of {', '.join(PROFILES)}")
        return v


class NoteForm(BaseModel):
    """``POST /api/notes/{ref}``: a trainer's note on one utterance or card (its limits are those of
    :class:`~harness.annotations.Annotation`, checked when it is made)."""

    model_config = ConfigDict(extra="forbid")

    target: str
    tag: str
    note: str = ""
    author: str = "trainer"

    def annotation(self) -> Annotation:
        """The line to append; ``ValidationError`` if a field is empty or too long."""
        return Annotation(target=self.target, tag=self.tag, note=self.note, author=self.author)


@dataclass
class ScenarioChoice:
    name: str
    id: str
    title: str
    delegations: list[tuple[str, str]]


def scenario_choices(folder: Path) -> list[ScenarioChoice]:
    """The scenario files in ``folder`` that load (others are logged and left out)."""
    out: list[ScenarioChoice] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            s = load_scenario(path)
        except HarnessError as exc:
            log.warning("scenario %s not offered: %s", path.name, exc)
            continue
        out.append(ScenarioChoice(path.name, s.id, s.title, [(d.id, d.name) for d in s.delegations]))
    return out
