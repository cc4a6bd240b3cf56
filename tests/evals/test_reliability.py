"""Reliability figures against hand computation and a published Krippendorff example."""

from __future__ import annotations

import json
from pathlib import Path

import krippendorff
import numpy as np
import pytest

from evals.reliability import (
    LABELS,
    agreement,
    krippendorff_ordinal,
    quadratic_weighted_kappa,
    read_gold,
    validate_scorer,
)
from evals.scorers.rules import RulesScorer
from harness.errors import DataError
from harness.schema import Rubric


def test_quadratic_weighted_kappa_hand_computed() -> None:
    # gold 0,1,2 vs scorer 0,1,3 on K = 5 levels, w_ij = (i−j)²/16.
    # Observed: cells (0,0) (1,1) (2,3) at 1/3 each → Σ w·O = (1/16)(1/3) = 1/48.
    # Expected: rows 0,1,2 and columns 0,1,3 at 1/3 each → E_ij = 1/9;
    #   Σ (i−j)² over i∈{0,1,2}, j∈{0,1,3} = (0+1+9) + (1+0+4) + (4+1+1) = 21 → Σ w·E = 21/144.
    # κ = 1 − (1/48)/(21/144) = 1 − 3/21 = 6/7.
    assert quadratic_weighted_kappa([0, 1, 2], [0, 1, 3]) == pytest.approx(6 / 7)
    assert quadratic_weighted_kappa([0, 2, 4], [0, 2, 4]) == pytest.approx(1.0)
    assert quadratic_weighted_kappa([2, 2], [2, 2]) is None  # no variation: undefined
    assert quadratic_weighted_kappa([], []) is None


def test_krippendorff_ordinal_hand_computed() -> None:
    # Units (0,0) (1,2) (2,2): values n0 = 2, n1 = 1, n2 = 3, n = 6.
    # Coincidences: o00 = 2, o12 = o21 = 1, o22 = 2.
    # Ordinal δ²(c,k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²:
    #   δ01 = 1.5² = 2.25, δ02 = 3.5² = 12.25, δ12 = 2² = 4.
    # D_o = (1·4 + 1·4)/6 = 4/3; D_e = 2(2·1·2.25 + 2·3·12.25 + 1·3·4)/(6·5) = 2·90/30 = 6.
    # α = 1 − (4/3)/6 = 7/9.
    assert krippendorff_ordinal([0, 1, 2], [0, 2, 2]) == pytest.approx(7 / 9)
    # A scorer abstention is missing data: the unit is unpairable and drops out.
    assert krippendorff_ordinal([0, 1, 2, 3], [0, 2, 2, None]) == pytest.approx(7 / 9)
    assert krippendorff_ordinal([1, 1], [1, 1]) is None  # no variation
    assert krippendorff_ordinal([1, 2], [None, None]) is None


def test_krippendorff_package_on_the_published_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", 4 coders × 12 units:
    # published α: nominal 0.743, ordinal 0.815, interval 0.849.
    nan = np.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    assert krippendorff.alpha(reliability_data=data, level_of_measurement="nominal") == pytest.approx(
        0.743, abs=1e-3
    )
    assert krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal") == pytest.approx(
        0.815, abs=1e-3
    )
    assert krippendorff.alpha(reliability_data=data, level_of_measurement="interval") == pytest.approx(
        0.849, abs=1e-3
    )


def test_agreement_definitions() -> None:
    # (gold, scorer)
    rows = [(0, 0), (1, 2), (2, None), (None, None), (None, 3), (4, 4)]
    a = agreement(rows)
    assert a["n"] == 6
    assert a["exact_accuracy"] == pytest.approx(3 / 6)  # (0,0) (None,None) (4,4)
    assert a["na_accuracy"] == pytest.approx(4 / 6)  # wrong on (2,None) and (None,3)
    assert a["coverage"] == pytest.approx(3 / 4)  # gold-addressed rows 0,1,2,4: scorer levels 3 of them
    assert a["mean_signed_error"] == pytest.approx(1 / 3)  # both-level rows: 0, +1, 0
    assert a["kappa"] == pytest.approx(quadratic_weighted_kappa([0, 1, 4], [0, 2, 4]))
    assert a["alpha"] == pytest.approx(krippendorff_ordinal([0, 1, 2, 4], [0, 2, None, 4]))
    matrix = a["confusion"]["matrix"]
    assert a["confusion"]["labels"] == LABELS == ["0", "1", "2", "3", "4", "NA"]
    assert matrix[1][2] == 1 and matrix[2][5] == 1 and matrix[5][3] == 1 and matrix[5][5] == 1
    assert sum(map(sum, matrix)) == 6
    empty = agreement([])
    assert empty["n"] == 0 and empty["kappa"] is None and empty["exact_accuracy"] is None


def _gold(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    p = tmp_path / "gold.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return p


def test_validate_scorer_json_shape(tmp_path: Path, rubrics: dict[str, Rubric]) -> None:
    gold = _gold(
        tmp_path,
        [
            {"id": "a", "axis": "neo", "delegation": "ROK", "level": 0, "text": "No SDF involvement at all."},
            {"id": "b", "axis": "neo", "delegation": "JPN", "level": None, "text": "The weather is fine."},
            {"id": "c", "axis": "china_messaging", "delegation": "ROK", "level": 4,
             "text": "We want full transparency with Beijing."},
        ],
    )  # fmt: skip
    report = validate_scorer(gold, RulesScorer(), rubrics)
    assert report["scorer"] == "rules" and report["gold"] == str(gold)
    assert list(report["axes"]) == ["neo", "china_messaging"]
    keys = {
        "n",
        "exact_accuracy",
        "na_accuracy",
        "coverage",
        "kappa",
        "alpha",
        "mean_signed_error",
        "confusion",
    }
    assert set(report["overall"]) == keys and set(report["axes"]["neo"]) == keys
    assert report["axes"]["neo"]["n"] == 2 and report["overall"]["n"] == 3
    assert report["overall"]["exact_accuracy"] == 1.0
    json.dumps(report)  # JSON-ready (None → null)


@pytest.mark.parametrize(
    ("line", "cause"),
    [
        ("not json", "not JSON"),
        ('{"id": "x", "axis": "neo", "delegation": "ROK", "text": "t"}', "level"),
        ('{"id": "x", "axis": "neo", "delegation": "ROK", "level": 7, "text": "t"}', "level"),
    ],
)
def test_bad_gold_rows_name_file_and_line(tmp_path: Path, line: str, cause: str) -> None:
    p = tmp_path / "gold.jsonl"
    p.write_text('{"id": "ok", "axis": "neo", "delegation": "ROK", "level": 1, "text": "t"}\n' + line + "\n")
    with pytest.raises(DataError, match=cause) as info:
        read_gold(p)
    assert info.value.line == 2 and str(p) in str(info.value)


def test_the_gold_split_is_reproducible_and_keeps_sources_together() -> None:
    import subprocess
    import sys

    from .conftest import GOLD

    out = subprocess.run(
        [sys.executable, str(GOLD / "make_split.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "split ok", out.stdout + out.stderr
    ids = [read_gold(GOLD / f"{name}.jsonl") for name in ("train", "dev", "test")]
    flat = [r.id for rows in ids for r in rows]
    assert len(flat) == len(set(flat)) >= 300  # no statement in two splits
