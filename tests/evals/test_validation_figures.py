"""The agreement figures the project quotes are true: each saved validation on the held-out test split
(evals/validation/<scorer>.json, shown in the report and quoted in docs/evaluation.md and the README) is
recomputed here and printed.

The issue's targets for the shipped offline scorer (exact ≥ .85, coverage ≥ .75, NA accuracy ≥ .9,
kappa ≥ .8 on the test split) are NOT all reached; the floors asserted below are the figures reached,
so that a change that makes the scorers worse out of sample fails.
"""

from __future__ import annotations

import json

import pytest

from evals.reliability import validate_scorer
from evals.rubrics import load_rubrics
from evals.scorers import build_scorer

from .conftest import GOLD, REPO

VALIDATION = REPO / "evals" / "validation"
FLOORS = {  # reached on the test split (rounded down): exact, coverage, NA accuracy, kappa
    "offline": (0.67, 0.73, 0.79, 0.83),
    "rules": (0.64, 0.63, 0.75, 0.82),
    "embed": (0.61, 0.75, 0.76, 0.80),
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_saved_test_split_figures_are_recomputed(name: str) -> None:
    saved = json.loads((VALIDATION / f"{name}.json").read_text(encoding="utf-8"))
    (record,) = [r for r in saved["records"] if r["split"] == "test"]
    report = validate_scorer(GOLD / "test.jsonl", build_scorer(name), load_rubrics())
    overall = report["overall"]
    print(
        f"{name} on the test split (n={overall['n']}): exact {overall['exact_accuracy']:.3f}, "
        f"coverage {overall['coverage']:.3f}, NA acc {overall['na_accuracy']:.3f}, "
        f"kappa {overall['kappa']:.3f}, alpha {overall['alpha']:.3f}"
    )
    for key in ("exact_accuracy", "coverage", "na_accuracy", "kappa", "alpha"):
        assert overall[key] == pytest.approx(record[key], abs=1e-9), (
            f"{name} {key}: run validate-scorer --save"
        )
    exact, coverage, na, kappa = FLOORS[name]
    assert overall["exact_accuracy"] >= exact and overall["coverage"] >= coverage
    assert overall["na_accuracy"] >= na and overall["kappa"] >= kappa
