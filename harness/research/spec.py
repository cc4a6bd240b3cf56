"""A sensitivity experiment as data: which contrast, on which delegations, analysed how.

It is the ``sensitivity:`` block of an experiment file (``harness sensitivity FILE``), or is built from
``harness sensitivity SCENARIO --experiment …`` flags. The batch machinery runs its conditions; this block
only says how they are derived and how the effects are read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.schema import Ident, LocatedValueError

ExperimentKind = Literal["identity-swap", "persona-ablation", "brief-ablation", "model"]
KINDS: tuple[str, ...] = ("identity-swap", "persona-ablation", "brief-ablation", "model")


class SensitivitySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment: ExperimentKind = Field(description="which contrast: baseline vs one derived condition")
    swap: list[Ident] = Field(
        default_factory=list,
        description="identity-swap: the two delegation ids to exchange, e.g. [US, JPN] (default: the "
        "scenario's first and last delegations)",
    )
    swap_what: Literal["names", "briefs", "both"] = Field(
        default="names", description="identity-swap: exchange the delegations' names, briefs or both"
    )
    ablate: list[Ident] = Field(
        default_factory=list, description="persona-/brief-ablation: delegations to ablate (default: all)"
    )
    persona_mode: Literal["minimal", "neutral"] = Field(
        default="minimal",
        description="persona-ablation: minimal = name and title only; neutral = a generic, priors-neutral "
        "background for the persona's role",
    )
    model_for: dict[str, str] = Field(
        default_factory=dict, description="model: delegation id -> the model it plays on in the treatment"
    )
    scorer: str = Field(default="stated", description="whose levels the effects are computed on")
    correction: Literal["holm", "bh"] = Field(
        default="holm", description="multiple-testing correction across delegation x axis cells"
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="family-wise (holm) or FDR (bh) level")
    power: float = Field(default=0.8, gt=0, lt=1, description="for the smallest detectable effect")
    n_boot: int = Field(default=2000, ge=100, description="bootstrap resamples of each effect")
    seed: int = Field(default=0, description="bootstrap seed")

    @model_validator(mode="after")
    def _complete(self) -> SensitivitySpec:
        if self.experiment == "identity-swap":
            if self.swap and (len(self.swap) != 2 or self.swap[0] == self.swap[1]):
                raise LocatedValueError(("swap",), "identity-swap needs two different delegation ids")
        elif self.swap:
            raise LocatedValueError(("swap",), f"swap is for identity-swap, not {self.experiment}")
        if self.experiment == "model" and not self.model_for:
            raise LocatedValueError(
                ("model_for",), "the model experiment needs model_for: {DELEGATION: MODEL}"
            )
        if self.experiment != "model" and self.model_for:
            raise LocatedValueError(
                ("model_for",), f"model_for is for the model experiment, not {self.experiment}"
            )
        if self.ablate and self.experiment not in ("persona-ablation", "brief-ablation"):
            raise LocatedValueError(
                ("ablate",), f"ablate is for the ablation experiments, not {self.experiment}"
            )
        return self

    @property
    def treatment(self) -> str:
        """The treatment condition's name (a slug: it is part of run ids)."""
        if self.experiment == "identity-swap":
            a, b = sorted(self.swap)
            return f"swap-{self.swap_what}-{a}-{b}"
        if self.experiment == "persona-ablation":
            who = "-".join(sorted(self.ablate)) or "all"
            return f"personas-{self.persona_mode}-{who}"
        if self.experiment == "brief-ablation":
            return f"briefs-neutral-{'-'.join(sorted(self.ablate)) or 'all'}"
        return "models-" + "-".join(f"{d}" for d in sorted(self.model_for))
