"""The plan of a batch: every run of the grid with its condition, deterministic run id and seed.

Run ids are ``<experiment id>-<condition slug>-s<seed>-r<rep>``; the condition slug names every grid
dimension (``<scenario>-<backend>-<personas>-t<temperature>``), so adding a value to the grid never
renames the runs already done, and a second invocation finds them again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from harness.batch.estimate import CallCount, scenario_calls
from harness.batch.spec import BackendSpec, Experiment, PersonaVariant
from harness.errors import DataError
from harness.loaders import load_bundle
from harness.schema import Sampling

CONDITION_COLUMNS = ("condition", "scenario", "backend", "model", "personas", "temperature")


def temperature_tag(t: float | None) -> str:
    return "tdef" if t is None else f"t{t:g}"


@dataclass(frozen=True)
class Condition:
    """One cell of the grid (everything but seed and repetition)."""

    scenario_id: str
    scenario_path: Path
    backend: BackendSpec
    personas: PersonaVariant
    temperature: float | None

    @property
    def label(self) -> str:
        return "-".join(
            (self.scenario_id, self.backend.name, self.personas.name, temperature_tag(self.temperature))
        )

    def columns(self) -> dict[str, object]:
        return {
            "condition": self.label,
            "scenario": self.scenario_id,
            "backend": self.backend.name,
            "model": self.backend.model or "",
            "personas": self.personas.name,
            "temperature": self.temperature,
        }


def run_seed(seed: int, rep: int) -> int:
    """The sampling seed of repetition ``rep`` (1-based): the grid seed itself for the first one, a
    distinct derived seed for the others (repetitions must never collapse into one cached answer)."""
    if rep == 1:
        return seed
    digest = hashlib.sha256(f"{seed}:rep{rep}".encode()).hexdigest()
    return int(digest[:8], 16)


@dataclass(frozen=True)
class PlannedRun:
    run_id: str
    condition: Condition
    seed: int
    rep: int
    sampling: Sampling
    calls: int  # expected model calls (default path through the scenario)

    def columns(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            **self.condition.columns(),
            "seed": self.seed,
            "rep": self.rep,
            "run_seed": self.sampling.seed,
        }


@dataclass
class Plan:
    experiment: Experiment
    runs: list[PlannedRun]
    conditions: list[Condition]
    calls_by_scenario: dict[str, CallCount] = field(default_factory=dict)

    @property
    def total_calls(self) -> int:
        return sum(r.calls for r in self.runs)


def build_plan(exp: Experiment) -> Plan:
    """Every run of the grid, in a stable order; loads each scenario × persona variant once to check it."""
    scenario_ids: dict[Path, str] = {}
    counts: dict[str, CallCount] = {}
    for path in exp.scenarios:
        bundles = [load_bundle(path, v.personas, exp.scoring.rubrics) for v in exp.personas]
        sid = bundles[0].scenario.id
        other = next((p for p, s in scenario_ids.items() if s == sid), None)
        if other is not None:
            raise DataError(str(path), f"scenario id {sid!r} is also the id of {other}", field="id")
        scenario_ids[path] = sid
        counts[sid] = scenario_calls(bundles[0].scenario, narrate=exp.options.narrate)
    conditions = [
        Condition(scenario_ids[path], path, backend, variant, t)
        for path in exp.scenarios
        for backend in exp.backends
        for variant in exp.personas
        for t in exp.sampling.temperature
    ]
    runs = [
        PlannedRun(
            run_id=f"{exp.id}-{c.label}-s{seed}-r{rep}",
            condition=c,
            seed=seed,
            rep=rep,
            sampling=Sampling(
                temperature=c.temperature, seed=run_seed(seed, rep), max_tokens=exp.sampling.max_tokens
            ),
            calls=counts[c.scenario_id].calls,
        )
        for c in conditions
        for seed in exp.sampling.seed
        for rep in range(1, exp.repetitions + 1)
    ]
    return Plan(exp, runs, conditions, counts)
