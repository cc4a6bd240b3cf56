"""The experiment file: a grid of runs (``harness batch experiment.yaml``).

Scenarios × backends (models) × persona variants × temperatures form the **conditions**; seeds × N
repetitions are the replicates of each condition. Paths in the file are relative to the file itself.
A bad file is one :class:`~harness.errors.DataError` naming the file, the field and its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evals.scorers import DEFAULT_SCORER
from harness.errors import DataError
from harness.loaders import load_model
from harness.research.spec import SensitivitySpec
from harness.schema import LocatedValueError

Slug = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackendSpec(_Spec):
    """One backend/model of the grid. Unset fields fall back to flags' usual sources (environment,
    harness.toml, the profile's defaults), exactly as ``harness run`` resolves them."""

    name: Slug = Field(description="label in condition names and run ids")
    profile: str | None = Field(default=None, description="backend profile (see `harness backends`)")
    base_url: str | None = None
    model: str | None = None
    model_for: dict[str, str] = Field(default_factory=dict, description="delegation id -> its own model")
    requests_per_minute: float | None = Field(default=None, gt=0, description="rate limit, all runs")
    tokens_per_minute: float | None = Field(default=None, gt=0, description="rate limit, all runs")
    cache: Path | None = Field(default=None, description="response cache folder")


class PersonaVariant(_Spec):
    name: Slug
    personas: Path | None = Field(default=None, description="persona folder (default: the scenario's)")


class SamplingGrid(_Spec):
    temperature: list[float | None] = Field(default_factory=lambda: list[float | None]([None]), min_length=1)
    seed: list[int] = Field(default_factory=lambda: [1], min_length=1)
    max_tokens: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _unique(self) -> SamplingGrid:
        for name in ("temperature", "seed"):
            values: list[object] = list(getattr(self, name))
            for i, v in enumerate(values):
                if v in values[:i]:
                    raise LocatedValueError((name, i), f"{v!r} is listed twice")
        return self


class RunOptions(_Spec):
    """Knobs of each run (see ``harness run``)."""

    max_concurrency: int = Field(default=8, ge=1, description="model calls in flight within one run")
    prompt_cap: int | None = Field(default=None, gt=0)
    turn_tokens: int | None = Field(default=None, gt=0)
    card_tokens: int | None = Field(default=None, gt=0)
    narrate: bool = False


class JudgeSpec(_Spec):
    """The model(s) a scorer that needs one (``judge``) is built from, and what it may spend.

    Unset fields fall back to the usual sources (environment, harness.toml, the profile's defaults), as
    for ``harness score --judge-backend/--judge-model``."""

    profile: str | None = Field(default=None, description="judge backend profile (see `harness backends`)")
    base_url: str | None = None
    model: str | None = Field(default=None, description="judge model at that backend")
    samples: int = Field(default=1, ge=1, le=20, description="judge samples per unit (k)")
    concurrency: int = Field(default=4, ge=1, description="judge calls in flight for one run")
    max_total_tokens: int | None = Field(
        default=None,
        gt=0,
        description="judge token budget for the whole batch: once spent, later runs are left unjudged",
    )
    cache: Path | None = Field(default=None, description="response cache folder for the judge")


class ScoringSpec(_Spec):
    scorers: list[str] = Field(
        default_factory=lambda: [DEFAULT_SCORER, "stated"],
        description="registered scorer names (`harness scorers`)",
    )
    rubrics: Path | None = Field(default=None, description="rubric folder (default: the scenario's)")
    codebook: Path | None = None
    judge: JudgeSpec | None = Field(
        default=None, description="backend/model and token budget of the scorers that need a model (judge)"
    )
    n_boot: int = Field(default=1000, ge=0)
    seed: int = 0

    @field_validator("scorers")
    @classmethod
    def _registered(cls, names: list[str]) -> list[str]:
        from evals.scorers import registry

        known = registry()
        for i, name in enumerate(names):
            if name not in known:
                raise LocatedValueError((i,), f"unknown scorer {name!r}: choose one of {', '.join(known)}")
        return names

    @model_validator(mode="after")
    def _models_for_judges(self) -> ScoringSpec:
        from evals.scorers import registry

        known = registry()
        for i, name in enumerate(self.scorers):
            if known[name].needs_models and self.judge is None:
                raise LocatedValueError(
                    ("scorers", i),
                    f"scorer {name!r} needs a model: add a scoring.judge block (profile/model and a token "
                    "budget, max_total_tokens)",
                )
        return self


class EstimateSpec(_Spec):
    tokens_per_call: int = Field(
        default=2500, gt=0, description="prompt + completion tokens a call, until finished runs tell"
    )


class RaySpec(_Spec):
    workers: int | None = Field(default=None, ge=1, description="async actors (default: one per 8 runs)")
    num_cpus: float = Field(default=0.25, gt=0, description="CPUs reserved per actor (I/O bound)")


class Experiment(_Spec):
    id: Slug
    description: str = ""
    scenarios: list[Path] = Field(min_length=1)
    backends: list[BackendSpec] = Field(min_length=1)
    personas: list[PersonaVariant] = Field(
        default_factory=lambda: [PersonaVariant(name="default")], min_length=1
    )
    sampling: SamplingGrid = Field(default_factory=SamplingGrid)
    repetitions: int = Field(default=1, ge=1, le=10_000)
    concurrency: int = Field(default=4, ge=1, description="runs in flight at once")
    retries: int = Field(default=1, ge=0, le=20, description="extra attempts for a failed run")
    retry_delay_s: float = Field(default=5.0, ge=0)
    max_total_tokens: int | None = Field(default=None, gt=0)
    options: RunOptions = Field(default_factory=RunOptions)
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    estimate: EstimateSpec = Field(default_factory=EstimateSpec)
    ray: RaySpec = Field(default_factory=RaySpec)
    sensitivity: SensitivitySpec | None = Field(
        default=None,
        description="a sensitivity experiment on the one scenario and backend (`harness sensitivity FILE`)",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Experiment:
        for field in ("backends", "personas"):
            names = [item.name for item in getattr(self, field)]
            for i, name in enumerate(names):
                if name in names[:i]:
                    raise LocatedValueError((field, i, "name"), f"name {name!r} is used twice")
        return self


def _resolve(base: Path, p: Path | None) -> Path | None:
    if p is None:
        return None
    p = p.expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file; every path in it is made absolute (relative to the file)."""
    p = Path(path)
    exp = load_model(Experiment, p)
    base = p.resolve().parent
    exp.scenarios = [_resolve(base, s) or s for s in exp.scenarios]
    for i, s in enumerate(exp.scenarios):
        if not s.is_file():
            raise DataError(str(p), f"scenario file {s} not found", field=f"scenarios[{i}]")
    for i, v in enumerate(exp.personas):
        v.personas = _resolve(base, v.personas)
        if v.personas is not None and not v.personas.is_dir():
            raise DataError(str(p), f"persona folder {v.personas} not found", field=f"personas[{i}].personas")
    for b in exp.backends:
        b.cache = _resolve(base, b.cache)
    exp.scoring.rubrics = _resolve(base, exp.scoring.rubrics)
    exp.scoring.codebook = _resolve(base, exp.scoring.codebook)
    if exp.scoring.judge is not None:
        exp.scoring.judge.cache = _resolve(base, exp.scoring.judge.cache)
    if exp.scoring.rubrics is not None and not exp.scoring.rubrics.is_dir():
        raise DataError(str(p), f"rubric folder {exp.scoring.rubrics} not found", field="scoring.rubrics")
    return exp
