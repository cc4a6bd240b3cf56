"""``harness sensitivity``: a baseline and one derived condition, run as a batch and read as effects.

:func:`sensitivity_experiment` turns a scenario and flags into an experiment (or an experiment file with a
``sensitivity:`` block is loaded as it is); :func:`run_sensitivity` writes the condition folders
(:mod:`harness.research.conditions`), runs them with :func:`harness.batch.run_batch` (resumable: the same
command again skips finished runs and resumes interrupted ones), reads the effects
(:mod:`harness.research.analysis`) and adds them to the batch's ``summary.json`` under ``sensitivity``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.metrics import scales_of
from harness.batch.driver import BatchResult, Executor, run_batch
from harness.batch.local import Progress
from harness.batch.models import Opener, open_backend
from harness.batch.outputs import load_scores, write_summary
from harness.batch.plan import build_plan
from harness.batch.spec import BackendSpec, Experiment, SamplingGrid, ScoringSpec
from harness.errors import ConfigError
from harness.loaders import load_bundle
from harness.research.analysis import RunLevels, analyse
from harness.research.conditions import ConditionFiles, derive_conditions, resolve_spec
from harness.research.spec import SensitivitySpec

log = logging.getLogger(__name__)

SUMMARY_KEY = "sensitivity"


@dataclass
class SensitivityResult:
    batch: BatchResult
    conditions: list[ConditionFiles]
    analysis: dict[str, Any]


def sensitivity_experiment(
    scenario: Path,
    spec: SensitivitySpec,
    *,
    backend: BackendSpec,
    seeds: list[int],
    reps: int,
    temperature: float | None = None,
    concurrency: int = 4,
    exp_id: str | None = None,
) -> Experiment:
    """The experiment ``harness sensitivity SCENARIO --experiment …`` runs."""
    _check_scorer(spec.scorer, has_judge=False)
    return Experiment(
        id=exp_id or spec.experiment,
        description=f"harness sensitivity {scenario} --experiment {spec.experiment}",
        scenarios=[scenario.resolve()],
        backends=[backend],
        sampling=SamplingGrid(temperature=[temperature], seed=seeds),
        repetitions=reps,
        concurrency=concurrency,
        retry_delay_s=1.0,
        scoring=ScoringSpec(scorers=list(dict.fromkeys(["rules", "stated", spec.scorer]))),
        sensitivity=spec,
    )


def _check(exp: Experiment) -> SensitivitySpec:
    if exp.sensitivity is None:
        raise ConfigError(f"experiment {exp.id} has no sensitivity block: run it with `harness batch`")
    problems = [
        (len(exp.scenarios) != 1, "one scenario"),
        (len(exp.backends) != 1, "one backend (the model experiment derives the second)"),
        (len(exp.personas) != 1 or exp.personas[0].personas is not None, "the scenario's own personas"),
        (len(exp.sampling.temperature) != 1, "one temperature"),
    ]
    for bad, what in problems:
        if bad:
            raise ConfigError(f"a sensitivity experiment runs on {what}; experiment {exp.id} does not")
    _check_scorer(exp.sensitivity.scorer, has_judge=exp.scoring.judge is not None)
    return exp.sensitivity


def _check_scorer(name: str, *, has_judge: bool) -> None:
    from evals.scorers import scorer_info

    if scorer_info(name).needs_models and not has_judge:
        raise ConfigError(
            f"scorer {name!r} needs a model: give it a scoring.judge block in an experiment file "
            "(`harness sensitivity FILE`)"
        )


def batch_of(exp: Experiment, conditions: list[ConditionFiles], spec: SensitivitySpec) -> Experiment:
    """The plain batch experiment that runs the conditions (their scenarios × their backends)."""
    scenarios = list(dict.fromkeys(c.scenario for c in conditions))
    backends = list({c.backend.name: c.backend for c in conditions}.values())
    scorers = list(dict.fromkeys([*exp.scoring.scorers, spec.scorer]))
    batch = exp.model_copy(
        update={
            "scenarios": scenarios,
            "backends": backends,
            "sensitivity": None,
            "scoring": exp.scoring.model_copy(update={"scorers": scorers}),
        }
    )
    plan = build_plan(batch)
    if len(plan.conditions) != len(conditions):  # pragma: no cover - a derivation bug, not a user error
        raise ConfigError(
            f"{len(plan.conditions)} batch conditions for {len(conditions)} experiment conditions"
        )
    return batch


def _run_levels(result: BatchResult, conditions: list[ConditionFiles], scorer: str) -> list[RunLevels]:
    role = {(c.scenario_id, c.backend.name): c.role for c in conditions}
    out: list[RunLevels] = []
    for run in result.plan.runs:
        record = result.records.get(run.run_id)
        if record is None or record.status != "completed":
            continue
        levels: dict[tuple[str, str], list[int | None]] = {}
        for s in load_scores(result.out_dir / run.run_id, scorer):
            levels.setdefault((s.delegation, s.axis), []).append(s.level)
        key = (run.condition.scenario_id, run.condition.backend.name)
        out.append(RunLevels(run.run_id, role[key], f"s{run.seed}-r{run.rep}", levels))
    return out


def run_sensitivity(
    exp: Experiment,
    out_dir: Path,
    *,
    executor: Executor = "local",
    concurrency: int | None = None,
    max_total_tokens: int | None = None,
    ray_address: str | None = None,
    progress: Progress | None = None,
    opener: Opener = open_backend,
) -> SensitivityResult:
    spec = _check(exp)
    bundle = load_bundle(exp.scenarios[0], None, exp.scoring.rubrics)
    spec = resolve_spec(spec, bundle.scenario)
    out_dir.mkdir(parents=True, exist_ok=True)
    conditions = derive_conditions(spec, bundle, out_dir, exp.backends[0])
    batch = batch_of(exp, conditions, spec)
    result = run_batch(
        batch,
        out_dir,
        executor=executor,
        concurrency=concurrency,
        max_total_tokens=max_total_tokens,
        ray_address=ray_address,
        progress=progress,
        opener=opener,
    )
    analysis = analyse(
        spec,
        conditions,
        _run_levels(result, conditions, spec.scorer),
        [d.id for d in bundle.scenario.delegations],
        bundle.scenario.axes,
        scales_of(bundle.rubrics),
    )
    result.summary[SUMMARY_KEY] = analysis
    result.files = [p for p in result.files if p.name not in ("summary.json", "summary.csv")]
    result.files += write_summary(out_dir, result.summary)
    log.info("sensitivity %s: %s", spec.experiment, analysis["verdict"]["line"])
    return SensitivityResult(result, conditions, analysis)
