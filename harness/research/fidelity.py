"""``harness fidelity RUN|BATCH``: the scenario's expected findings, reproduced or not, per condition; and
each delegation's deviation from its head's ``stance_priors``.

The figures are :func:`evals.metrics.evaluate_finding` and :func:`evals.metrics.prior_deviations`; this
module finds the runs, their scenario's findings and priors, and writes ``fidelity.json`` beside them
(the batch folder, or the run folder).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.metrics import evaluate_finding, prior_deviations, scales_of
from harness.recorded import bundle_of, rubrics_of
from harness.research.runs import RunGroup, groups_of, scores_for, write_json
from harness.transcript import Run

log = logging.getLogger(__name__)

FIDELITY_JSON = "fidelity.json"


def head_priors(run: Run) -> dict[str, dict[str, int]]:
    """``{delegation: {axis: level}}`` from each delegation head's persona (the head fills in the card)."""
    bundle = bundle_of(run.manifest)
    out: dict[str, dict[str, int]] = {}
    for d in bundle.scenario.delegations:
        head = bundle.personas.get(d.head)
        if head is not None and head.stance_priors:
            out[d.id] = {axis: int(level) for axis, level in head.stance_priors.items()}
    return out


def group_fidelity(
    group: RunGroup, scorer: str, *, majority: float, n_boot: int, seed: int
) -> dict[str, Any]:
    first = group.runs[0]
    bundle = bundle_of(first.manifest)
    scales = scales_of(rubrics_of(first.manifest))
    by_run = {run.run_id: scores_for(run, scorer) for run in group.runs}
    findings = [
        evaluate_finding(by_run, f, scales, majority=majority, n_boot=n_boot, seed=seed).as_dict()
        for f in bundle.scenario.expected_findings
    ]
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["status"]] = counts.get(f["status"], 0) + 1
    return {
        "condition": group.label,
        "scenario": bundle.scenario.id,
        "runs": len(group.runs),
        "findings": findings,
        "counts": counts,
        "priors": prior_deviations(by_run, head_priors(first), scales, n_boot=n_boot, seed=seed),
    }


def fidelity(
    ref: str | Path,
    *,
    root: str | Path | None = None,
    scorer: str = "stated",
    majority: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    write: bool = True,
) -> dict[str, Any]:
    folder, groups = groups_of(ref, root)
    result = {
        "scorer": scorer,
        "majority": majority,
        "n_boot": n_boot,
        "confidence": 0.95,
        "rule": "reproduced: the 95% CI of the share of runs in which the finding holds lies above "
        f"{majority}; not reproduced: below it; undetermined otherwise (when all runs agree, the rule of "
        "three bounds the share: n runs out of n gives [1 - 3/n, 1])",
        "priors_rule": "deviation = (level - the head persona's stance prior) / scale width, mean over "
        "moves and runs; > 0: above the prior",
        "conditions": [
            group_fidelity(g, scorer, majority=majority, n_boot=n_boot, seed=seed) for g in groups
        ],
    }
    if write:
        path = write_json(folder / FIDELITY_JSON, result)
        log.info("fidelity written to %s", path)
    return result


def missing_findings(result: dict[str, Any]) -> Sequence[str]:
    """Conditions whose scenario declares no expected finding."""
    return [c["condition"] for c in result["conditions"] if not c["findings"]]
