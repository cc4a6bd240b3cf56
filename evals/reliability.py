"""How far a scorer can be trusted: agreement with a gold set (issue 5's ``--json`` definitions).

Over gold rows (level 0..4 or null = not addressed) and the scorer's answers (level or null):

* ``exact_accuracy``: share of all rows where scorer == gold, "not addressed" counting as its own class;
* ``na_accuracy``: accuracy of the addressed / not-addressed decision, over all rows;
* ``coverage``: share of gold-addressed rows to which the scorer gives a level;
* ``kappa``: quadratic-weighted Cohen's kappa on rows where both give a level;
* ``alpha``: Krippendorff's ordinal alpha (``value_domain`` 0..4) on gold-addressed rows, the scorer's
  abstentions as missing;
* ``mean_signed_error``: mean (scorer − gold) on rows where both give a level (> 0: scorer too high);
* ``confusion``: counts, rows = gold, columns = scorer, labels "0".."4" and "NA".

An undefined figure (no rows, no variation) is ``None``. Report them together: abstaining must not look
like accuracy.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
from pydantic import BaseModel, ConfigDict

from evals.scorers.base import BatchScorer, Scorer
from evals.scores_io import read_jsonl
from harness import keys
from harness.errors import DataError, HarnessError
from harness.schema import LEVELS, BackendInfo, Level, ManifestEvent, Rubric, ScenarioRef, UtteranceEvent
from harness.transcript import Run

log = logging.getLogger(__name__)

NA = "NA"
LABELS: list[str] = [str(lv) for lv in LEVELS] + [NA]
Pairs = Sequence[tuple[int | None, int | None]]  # (gold, scorer)


def quadratic_weighted_kappa(
    gold: Sequence[int], pred: Sequence[int], levels: Sequence[int] = LEVELS
) -> float | None:
    """Cohen's kappa with weights (i − j)² / (K − 1)²; None when undefined."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    if not gold:
        return None
    k = len(levels)
    index = {lv: i for i, lv in enumerate(levels)}
    observed = np.zeros((k, k))
    for g, p in zip(gold, pred, strict=True):
        observed[index[g], index[p]] += 1
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    w = np.array([[(i - j) ** 2 for j in range(k)] for i in range(k)]) / (k - 1) ** 2
    denom = float((w * expected).sum())
    if denom == 0:
        return None
    return 1.0 - float((w * observed).sum()) / denom


def krippendorff_ordinal(*coders: Sequence[int | None]) -> float | None:
    """Krippendorff's alpha, ordinal, ``value_domain`` 0..4, over two or more coders' values for the same
    units (``None``: missing); None when undefined (no unit with two values, or no variation)."""
    if len(coders) < 2 or len({len(c) for c in coders}) != 1:
        raise ValueError("alpha needs two or more coders with one value per unit each")
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in coders], dtype=float)
    pairable = int(np.sum(np.sum(~np.isnan(data), axis=0) >= 2))
    if pairable == 0:
        return None
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = krippendorff.alpha(
                reliability_data=data, level_of_measurement="ordinal", value_domain=list(LEVELS)
            )
    except (ValueError, ZeroDivisionError):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def confusion(rows: Pairs) -> dict[str, Any]:
    matrix = [[0] * len(LABELS) for _ in LABELS]
    for g, p in rows:
        matrix[LABELS.index(NA if g is None else str(g))][LABELS.index(NA if p is None else str(p))] += 1
    return {"labels": LABELS, "rows": "gold", "columns": "scorer", "matrix": matrix}


def agreement(rows: Pairs) -> dict[str, Any]:
    """All figures for one set of (gold, scorer) rows; keys as in `validate-scorer --json`."""
    n = len(rows)
    both = [(g, p) for g, p in rows if g is not None and p is not None]
    addressed = [(g, p) for g, p in rows if g is not None]
    return {
        "n": n,
        "exact_accuracy": sum(g == p for g, p in rows) / n if n else None,
        "na_accuracy": sum((g is None) == (p is None) for g, p in rows) / n if n else None,
        "coverage": sum(p is not None for _, p in addressed) / len(addressed) if addressed else None,
        "kappa": quadratic_weighted_kappa([g for g, _ in both], [p for _, p in both]),
        "alpha": krippendorff_ordinal([g for g, _ in addressed], [p for _, p in addressed]),
        "mean_signed_error": sum(p - g for g, p in both) / len(both) if both else None,
        "confusion": confusion(rows),
    }


# ------------------------------------------------------------------------------------------------
# Gold sets
# ------------------------------------------------------------------------------------------------


class GoldRow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    axis: str
    delegation: str
    level: Level | None
    text: str


def read_gold(path: str | Path) -> list[GoldRow]:
    """Gold rows {id, axis, delegation, level (0-4 or null, required), text}."""
    rows = read_jsonl(path, GoldRow, "gold")
    if not rows:
        raise DataError(str(path), "no gold rows")
    return rows


@dataclass(frozen=True)
class GoldSource:
    """How a gold file is named in saved figures: its set (the folder), its split (the file) and hash."""

    name: str
    split: str
    sha256: str


def gold_source(path: str | Path, name: str | None = None, split: str | None = None) -> GoldSource:
    """``evals/gold/dev.jsonl`` → set ``gold``, split ``dev`` (``name``/``split`` override them)."""
    p = Path(path)
    try:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError as exc:
        raise DataError(str(p), "cannot read the gold file") from exc
    return GoldSource(name or p.resolve().parent.name, split or p.stem, digest)


def gold_run_id(row: GoldRow) -> str:
    return f"gold-{row.id}"


def gold_run(row: GoldRow, path: str | Path = "gold.jsonl") -> Run:
    """One gold statement as an in-memory one-utterance run (move "gold"), so any scorer can score it."""
    manifest = ManifestEvent(
        key=keys.MANIFEST,
        run_id=gold_run_id(row),
        created="",
        harness_version="",
        source="import",
        scenario=ScenarioRef(id="gold", version="1", path=str(path), sha256=""),
        backend=BackendInfo(profile="import"),
    )
    utterance = UtteranceEvent(
        key=keys.gold(row.id),
        utterance_id=f"gold/{row.id}",
        move="gold",
        phase="report",
        channel="plenary",
        delegation=row.delegation,
        speaker="speaker",
        author="import",
        text=row.text,
    )
    return Run(path=Path(path), events=[manifest, utterance])


@dataclass
class GoldResult:
    row: GoldRow
    level: int | None
    model: str | None = None
    """The model the score names (a judge's, or a panel's combined label)."""


def score_gold(
    rows: Sequence[GoldRow], scorer: Scorer, rubrics: Mapping[str, Rubric], path: str | Path
) -> list[GoldResult]:
    """Each gold row scored as a one-statement run (all at once when the scorer can score runs together)."""
    for i, row in enumerate(rows, start=1):
        if row.axis not in rubrics:
            raise DataError(str(path), f"axis {row.axis!r} has no rubric", field="axis", line=i)
    items = [(gold_run(row, path), {row.axis: rubrics[row.axis]}) for row in rows]
    if isinstance(scorer, BatchScorer):
        scored = scorer.score_runs(items)
    else:
        scored = [scorer.score_run(run, axes) for run, axes in items]
    out: list[GoldResult] = []
    for row, all_scores in zip(rows, scored, strict=True):
        scores = [s for s in all_scores if s.axis == row.axis]
        if len(scores) > 1:
            raise HarnessError(
                f"scorer {scorer.name} gave {len(scores)} scores for one statement: combine the panel"
            )
        out.append(GoldResult(row, scores[0].level if scores else None, scores[0].model if scores else None))
        log.info("%s: gold %s scorer %s", row.id, row.level, out[-1].level)
    return out


def validation_report(
    results: Sequence[GoldResult], scorer: str, gold_path: str | Path, model: str | None = None
) -> dict[str, Any]:
    """Agreement per axis and overall (issue 5's JSON shape) from scored gold rows."""
    axes: dict[str, Any] = {}
    for axis in dict.fromkeys(r.row.axis for r in results):
        axes[axis] = agreement([(r.row.level, r.level) for r in results if r.row.axis == axis])
    overall = agreement([(r.row.level, r.level) for r in results])
    return {"scorer": scorer, "model": model, "gold": str(gold_path), "axes": axes, "overall": overall}


def validate_scorer(gold_path: str | Path, scorer: Scorer, rubrics: Mapping[str, Rubric]) -> dict[str, Any]:
    """Agreement of ``scorer`` with the gold file, per axis and overall (issue 5's JSON shape)."""
    results = score_gold(read_gold(gold_path), scorer, rubrics, gold_path)
    model = next((r.model for r in results if r.model is not None), None)
    return validation_report(results, scorer.name, gold_path, model)
