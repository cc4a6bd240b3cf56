"""The shared ground of the contract: levels, identifiers, the strict base model, located errors."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1

Level = Literal[0, 1, 2, 3, 4]
"""An ordinal level on an anchored 0–4 axis (evals/rubrics/). ``None`` means "not addressed"."""

LEVELS: tuple[int, ...] = (0, 1, 2, 3, 4)

Role = Literal["head", "diplomat", "military", "expert", "political", "facilitator"]
Phase = Literal["caucus", "report", "question", "answer", "hotwash", "control"]
Channel = Literal["caucus", "plenary"]
Author = Literal["model", "human", "import"]
Ident = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Text = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class LocatedValueError(ValueError):
    """A model-level check that knows which field below the model is at fault.

    ``loc`` is relative to the model being validated (e.g. ``("moves", 0, "branches", 1, "goto")``);
    the loaders append it to pydantic's location so the error names the field and its line.
    """

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
