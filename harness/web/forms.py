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
from harness.resources import bundled_scenarios
from harness.schema import Ident

log = logging.getLogger(__name__)


class StartForm(BaseModel):
    """``POST /api/runs``: a scenario (by name, see :func:`scenario_choices`) and a backend profile."""

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

    @field_validator("scenario")
    @classmethod
    def _stem(cls, v: str) -> str:
        return v.removesuffix(".yaml")

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
    """What the form sends: the file's stem (a bundled scenario's id)."""
    path: Path
    id: str
    title: str
    delegations: list[tuple[str, str]]
    source: str
    """``folder`` (the room's scenarios folder) or ``bundled``."""


def scenario_choices(folder: Path | None) -> list[ScenarioChoice]:
    """The scenarios a run can be started from: the files in ``folder`` that load, then the bundled ones
    they do not shadow (a file that does not load is logged and left out)."""
    files = [(p, "folder") for p in sorted(folder.glob("*.yaml"))] if folder and folder.is_dir() else []
    files += [(p, "bundled") for p in bundled_scenarios().values()]
    out: dict[str, ScenarioChoice] = {}
    for path, source in files:
        if path.stem in out:
            continue
        try:
            s = load_scenario(path)
        except HarnessError as exc:
            log.warning("scenario %s not offered: %s", path, exc)
            continue
        delegations = [(d.id, d.name) for d in s.delegations]
        out[path.stem] = ScenarioChoice(path.stem, path, s.id, s.title, delegations, source)
    return list(out.values())
