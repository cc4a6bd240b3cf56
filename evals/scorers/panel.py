"""A panel of judges: how its members' scores become one, and how far the members agree.

``combine`` (``harness score --panel …``):

* ``none``: one score per judge model (the default): each member stays a divergence source of its own;
* ``pool``: all members' verified samples pooled into one distribution (model ``a+b``);
* ``majority``: the level most members give (a tie goes to the tied level nearest the members' median,
  then the lower); the distribution is the share of members at each level (model ``majority:a+b``);
* ``mean``: the mean of the members' levels, rounded to the nearest level (a half goes to the one nearest
  the members' median, then the lower); the distribution is the mean of the members' distributions
  (model ``mean:a+b``). With a calibration file each member's level is its own calibrated level, so this
  is the *calibrated mean*.

As within one judge, a unit more of whose members say "not addressed" than give a level is not addressed.

**Agreement** (:func:`panel_agreement`): Krippendorff's ordinal alpha between the members, per axis, over
the units (run, move, delegation) they scored; a member's "not addressed" or unscored unit is missing data
(as a scorer's abstention is in validation). With calibration, ``alpha`` is on the calibrated levels the
combination uses and ``alpha_raw`` on the raw ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from evals.reliability import (
    GoldResult,
    gold_run_id,
    krippendorff_ordinal,
    read_gold,
    score_gold,
    validation_report,
)
from evals.scorers.base import Scorer, mode_level, one_hot
from evals.scores_io import PANEL_SUFFIX
from harness.schema import LEVELS, AxisScore, Evidence, Rubric

Combine = Literal["none", "pool", "majority", "mean"]
COMBINE: tuple[str, ...] = ("none", "pool", "majority", "mean")


def _median(values: Sequence[float]) -> float:
    s = sorted(values)
    return (s[(len(s) - 1) // 2] + s[len(s) // 2]) / 2


def _mean_level(levels: Sequence[int]) -> int:
    mu, med = sum(levels) / len(levels), _median(levels)
    candidates = {int(mu // 1), int(-(-mu // 1))}
    return min(candidates, key=lambda lv: (abs(lv - mu), abs(lv - med), lv))


def combine_levels(levels: Sequence[int | None], how: Literal["majority", "mean"]) -> int | None:
    """One level from the members' levels (None: not addressed or unscored)."""
    levelled = [lv for lv in levels if lv is not None]
    if not levelled or len(levelled) < len(levels) - len(levelled):
        return None
    return mode_level(levelled) if how == "majority" else _mean_level(levelled)


def _raw(s: AxisScore) -> int | None:
    return s.raw_level if s.calibration is not None else s.level


def combine_members(members: Sequence[AxisScore], how: Literal["majority", "mean"]) -> AxisScore:
    """The panel's score of one unit from its members' scores (one per judge model)."""
    first = members[0]
    level = combine_levels([m.level for m in members], how)
    levelled = [m for m in members if m.level is not None]
    dist: list[float] | None = None
    if level is not None and how == "majority":
        dist = [sum(m.level == lv for m in levelled) / len(levelled) for lv in LEVELS]
    elif level is not None:
        dists = [m.dist or one_hot(m.level) or [] for m in levelled]
        dist = [sum(d[i] for d in dists) / len(dists) for i in range(len(LEVELS))]
    evidence: list[Evidence] = []
    for m in members:
        for ev in m.evidence if m.level == level else []:
            if ev not in evidence:
                evidence.append(ev)
    saliences = sorted(m.salience for m in members if m.salience is not None)
    calibrations = sorted({m.calibration for m in members if m.calibration is not None})
    return AxisScore(
        run_id=first.run_id,
        move=first.move,
        delegation=first.delegation,
        axis=first.axis,
        level=level,
        dist=dist,
        evidence=evidence[:5],
        salience=saliences[(len(saliences) - 1) // 2] if saliences else None,
        scorer=first.scorer,
        model=f"{how}:" + "+".join(m.model or "" for m in members),
        samples=sum(m.samples for m in members),
        raw_level=combine_levels([_raw(m) for m in members], how) if calibrations else None,
        calibration=", ".join(calibrations) or None,
    )


@dataclass(frozen=True)
class PanelAgreement:
    axis: str
    models: list[str]
    n_units: int
    """Units at least two members gave a level."""
    alpha: float | None
    alpha_raw: float | None
    """On the raw levels; None when no member was calibrated."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "models": self.models,
            "n_units": self.n_units,
            "alpha": self.alpha,
            "alpha_raw": self.alpha_raw,
        }


def _coders(
    units: Sequence[tuple[str, str, str]],
    models: Sequence[str],
    index: dict[tuple[str, str, str, str], AxisScore],
    pick: Callable[[AxisScore], int | None],
) -> list[list[int | None]]:
    """One row of values per member, one column per unit (None where the member has no score)."""
    return [[pick(index[(*u, m)]) if (*u, m) in index else None for u in units] for m in models]


def panel_agreement(members: Sequence[AxisScore]) -> list[PanelAgreement]:
    """Alpha between judge models per axis, from the members' scores (several models per unit)."""
    out: list[PanelAgreement] = []
    for axis in dict.fromkeys(s.axis for s in members):
        rows = [s for s in members if s.axis == axis]
        models = list(dict.fromkeys(s.model or "" for s in rows))
        if len(models) < 2:
            continue
        units = list(dict.fromkeys((s.run_id, s.move, s.delegation) for s in rows))
        index = {(s.run_id, s.move, s.delegation, s.model or ""): s for s in rows}
        levels = _coders(units, models, index, lambda s: s.level)
        n_units = sum(sum(c[i] is not None for c in levels) >= 2 for i in range(len(units)))
        calibrated = any(s.calibration is not None for s in rows)
        raw = krippendorff_ordinal(*_coders(units, models, index, _raw)) if calibrated else None
        out.append(PanelAgreement(axis, models, n_units, krippendorff_ordinal(*levels), raw))
    return out


def write_panel_agreement(
    scores_file: str | Path, members: Sequence[AxisScore], combine: str
) -> tuple[Path, list[PanelAgreement]]:
    """``<scorer>.panel.json`` beside a scores file: how the panel combined, its members' alpha per axis."""
    agreement = panel_agreement(members)
    p = Path(scores_file)
    path = p.with_name(p.stem + PANEL_SUFFIX)
    body = {"combine": combine, "agreement": {a.axis: a.as_dict() for a in agreement}}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, agreement


@runtime_checkable
class PanelScorer(Scorer, Protocol):
    """A scorer that keeps its members' own scores (the judge)."""

    combine: Combine
    members: list[AxisScore]


def validate_panel(
    gold_path: str | Path, scorer: PanelScorer, rubrics: Mapping[str, Rubric]
) -> dict[str, Any]:
    """``validate_scorer``'s report for a judge; for a panel also ``panel``: each member's own agreement
    with the gold labels (``members``, same shape) and the members' alpha per axis (``agreement``)."""
    start = len(scorer.members)
    results = score_gold(read_gold(gold_path), scorer, rubrics, gold_path)
    model = next((r.model for r in results if r.model is not None), None)
    report = validation_report(results, scorer.name, gold_path, model)
    members = scorer.members[start:]
    models = list(dict.fromkeys(m.model or "" for m in members))
    if len(models) < 2:
        return report
    level = {(m.run_id, m.axis, m.model or ""): m.level for m in members}
    report["panel"] = {
        "combine": scorer.combine,
        "members": {
            name: validation_report(
                [GoldResult(r.row, level.get((gold_run_id(r.row), r.row.axis, name)), name) for r in results],
                scorer.name,
                gold_path,
                name,
            )
            for name in models
        },
        "agreement": {a.axis: a.as_dict() for a in panel_agreement(members)},
    }
    return report
