"""Reading a sensitivity experiment: one effect per delegation × axis, corrected, with a verdict and power.

For every delegation × axis cell the levels of each completed run (one per move) form that run's values;
:func:`evals.metrics.two_sample_effect` gives the treatment − baseline difference in mean level with its
cluster-bootstrap interval (runs paired by seed and repetition), its bootstrap p-value and the W1 distance
between the two level distributions. The p-values of all cells form one family, adjusted by Holm (default)
or Benjamini–Hochberg (:func:`evals.metrics.adjust_p`); a cell is an effect when its adjusted p-value is
below alpha. The power note is :func:`evals.metrics.min_detectable` at the strictest level alpha/m.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals.metrics import (
    CORRECTIONS,
    Effect,
    Scale,
    adjust_p,
    min_detectable,
    p_floor,
    two_sample_effect,
)
from evals.metrics.across import CONFIDENCE
from harness.research.conditions import ConditionFiles
from harness.research.spec import SensitivitySpec
from harness.schema import LEVELS

CUE = {"names": "flag (the delegation's name)", "briefs": "brief", "both": "name and brief together"}
SHORT = {"names": "flag", "briefs": "brief", "both": "name and brief"}


@dataclass(frozen=True)
class RunLevels:
    """One completed run of a condition: its pairing key and its levels by (delegation, axis)."""

    run_id: str
    role: str  # baseline | treatment
    pair_key: str
    levels: Mapping[tuple[str, str], Sequence[int | None]]


def cell_effects(
    runs: Sequence[RunLevels],
    delegations: Sequence[str],
    axes: Sequence[str],
    scales: Mapping[str, Scale],
    spec: SensitivitySpec,
) -> list[dict[str, Any]]:
    pair_of = {r.run_id: r.pair_key for r in runs}
    sides = {
        (d, axis): {
            role: {r.run_id: list(r.levels.get((d, axis), [])) for r in runs if r.role == role}
            for role in ("baseline", "treatment")
        }
        for d in delegations
        for axis in axes
    }

    def effect(d: str, axis: str, confidence: float, scale: Scale | None) -> Effect:
        side = sides[(d, axis)]
        return two_sample_effect(
            side["baseline"],
            side["treatment"],
            pair_of=pair_of,
            scale=scale,
            n_boot=spec.n_boot,
            seed=spec.seed,
            confidence=confidence,
        )

    cells: list[dict[str, Any]] = []
    for d, axis in sides:
        e = effect(d, axis, CONFIDENCE, scales.get(axis, LEVELS))
        cells.append({"delegation": d, "axis": axis, **e.as_dict()})
    adjusted = adjust_p([c["p_value"] for c in cells], spec.correction)
    m = sum(1 for c in cells if c["p_value"] is not None)
    simultaneous = 1 - spec.alpha / max(1, m)
    for c, p in zip(cells, adjusted, strict=True):
        c["p_adjusted"] = p
        c["significant"] = p is not None and p < spec.alpha
        c["mde"] = min_detectable(c["se"], alpha=spec.alpha, m=m, power=spec.power)
        wide = (
            effect(c["delegation"], c["axis"], simultaneous, None).diff if c["p_value"] is not None else None
        )
        c["low_simultaneous"] = wide.low if wide else None
        c["high_simultaneous"] = wide.high if wide else None
    return cells


def power_note(
    cells: Sequence[dict[str, Any]], spec: SensitivitySpec, runs_per_condition: int
) -> dict[str, Any]:
    m = sum(1 for c in cells if c["p_value"] is not None)
    mdes = [c["mde"] for c in cells if c["mde"] is not None]
    floor = p_floor(spec.n_boot)
    note: dict[str, Any] = {
        "runs_per_condition": runs_per_condition,
        "cells": m,
        "mde_median": statistics.median(mdes) if mdes else None,
        "mde_max": max(mdes) if mdes else None,
        "p_floor": floor,
        "power": spec.power,
    }
    if not mdes:
        note["text"] = "no cell had two runs on each side: no interval, no test"
    elif note["mde_max"] == 0:
        note["text"] = (
            f"at {runs_per_condition} runs per condition the levels did not vary between runs "
            "(bootstrap SE 0): any difference would show; more runs are needed only to trust that the "
            "model is this stable"
        )
    else:
        need = runs_per_condition * (note["mde_median"] / 0.5) ** 2
        note["text"] = (
            f"at {runs_per_condition} runs per condition the smallest effect detectable with "
            f"{spec.power:.0%} power at alpha/{m} is about {note['mde_median']:.2f} levels (median over "
            f"cells; up to {note['mde_max']:.2f}); detecting 0.5 levels would take about {max(need, 2):.0f} "
            "runs per condition"
        )
    if m and floor * m >= spec.alpha:
        note["warning"] = (
            f"{spec.n_boot} bootstrap resamples cannot give a p-value under {floor:.4f}, too coarse for "
            f"{m} cells at alpha {spec.alpha}: raise n_boot"
        )
    return note


def _significant(cells: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cells if c["significant"]]


def _cell_text(c: Mapping[str, Any]) -> str:
    return f"{c['delegation']} {c['axis']} {c['diff']:+.2f}"


def verdict(
    spec: SensitivitySpec, cells: Sequence[dict[str, Any]], runs_per_condition: int, power: Mapping[str, Any]
) -> dict[str, Any]:
    """The one-line reading of the experiment (label + line), from the corrected cells."""
    sig = _significant(cells)
    mde = power.get("mde_median")
    if not any(c["p_value"] is not None for c in cells):
        return {
            "label": "not enough runs",
            "line": "not enough completed runs on both sides to test anything",
        }
    if not sig:
        size = f" (smallest detectable effect ≈ {mde:.2f} levels)" if mde else ""
        what = {
            "identity-swap": f"stance does not follow the {CUE[spec.swap_what]}",
            "persona-ablation": "stances do not depend on the persona text",
            "brief-ablation": "stances do not depend on the brief",
            "model": "the per-delegation model does not move stances",
        }[spec.experiment]
        return {
            "label": "no detectable effect",
            "line": f"no detectable effect at {runs_per_condition} runs per condition{size}: "
            f"{what} detectably",
        }
    listed = ", ".join(_cell_text(c) for c in sig)
    if spec.experiment == "identity-swap":
        return _swap_verdict(spec, cells, sig, listed)
    line = {
        "persona-ablation": "stances change when the persona text is gone",
        "brief-ablation": "stances change when the brief is gone",
        "model": "the per-delegation model changes stances",
    }[spec.experiment]
    return {"label": "effect", "line": f"{line}: {len(sig)} of {len(cells)} cells ({listed})"}


def _swap_verdict(
    spec: SensitivitySpec, cells: Sequence[dict[str, Any]], sig: Sequence[dict[str, Any]], listed: str
) -> dict[str, Any]:
    """A swapped delegation *follows* the cue when, on some axis where the two differed at baseline, its
    level moved significantly toward its partner's baseline level, and on none away from it.

    A swap predicts nothing else: a significant move of a delegation that was not swapped, or of a
    swapped one on an axis where the two stood level, is *unexplained* by it. Such cells are named, and
    a verdict that the stance follows the cue says it holds only with them.
    """
    x, y = spec.swap
    base = {(c["delegation"], c["axis"]): c["mean_a"] for c in cells}
    follows: dict[str, bool] = {}
    unexplained = [c for c in sig if c["delegation"] not in (x, y)]
    for me, other in ((x, y), (y, x)):
        toward = against = 0
        for c in sig:
            if c["delegation"] != me:
                continue
            mine, theirs = base.get((me, c["axis"])), base.get((other, c["axis"]))
            if mine is None or theirs is None or mine == theirs:
                unexplained.append(c)
                continue
            if (theirs - mine) * c["diff"] > 0:
                toward += 1
            else:
                against += 1
        follows[me] = toward > 0 and against == 0
    cue, short = CUE[spec.swap_what], SHORT[spec.swap_what]
    caveat = ""
    if unexplained:
        caveat = (
            f"; but {len(unexplained)} cell(s) moved that the swap does not predict "
            f"({', '.join(_cell_text(c) for c in unexplained)}): something besides the {short} moves "
            "stances, so read the swap with caution"
        )
    if all(follows.values()):
        return {
            "label": f"follows the {short}" + (", with unexplained moves" if unexplained else ""),
            "line": f"stance follows the {cue} ({listed}){caveat}",
        }
    if any(follows.values()):
        yes = [d for d, f in follows.items() if f]
        no = [d for d, f in follows.items() if not f]
        return {
            "label": f"partly follows the {short}" + (", with unexplained moves" if unexplained else ""),
            "line": f"stance partly follows the {cue}: {', '.join(yes)} follows, {', '.join(no)} does "
            f"not ({listed}){caveat}",
        }
    return {
        "label": "effect, not a swap",
        "line": f"stances changed, but not as a swap of the {cue} would predict ({listed})",
    }


def correction_info(spec: SensitivitySpec, cells: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "method": spec.correction,
        "description": CORRECTIONS[spec.correction],
        "alpha": spec.alpha,
        "m": sum(1 for c in cells if c["p_value"] is not None),
        "p_values": "two-sided cluster-bootstrap p-values of no difference (ties count on both sides, +1 "
        "correction), from the same resamples as the intervals",
    }


def analyse(
    spec: SensitivitySpec,
    conditions: Sequence[ConditionFiles],
    runs: Sequence[RunLevels],
    delegations: Sequence[str],
    axes: Sequence[str],
    scales: Mapping[str, Scale],
) -> dict[str, Any]:
    cells = cell_effects(runs, delegations, axes, scales, spec)
    n = {role: sum(1 for r in runs if r.role == role) for role in ("baseline", "treatment")}
    per_condition = min(n.values())
    power = power_note(cells, spec, per_condition)
    return {
        "experiment": spec.experiment,
        "spec": spec.model_dump(mode="json"),
        "conditions": [
            {
                "name": c.name,
                "role": c.role,
                "scenario_id": c.scenario_id,
                "backend": c.backend.name,
                "changes": c.changes,
                "runs": n[c.role],
            }
            for c in conditions
        ],
        "scorer": spec.scorer,
        "difference": "treatment - baseline, in levels (mean level over moves and runs)",
        "confidence": CONFIDENCE,
        "simultaneous": "low/high_simultaneous: the same bootstrap at 1 - alpha/m (Bonferroni), an "
        "interval for every cell at once; it covers 0 wherever no correction can find an effect",
        "n_boot": spec.n_boot,
        "correction": correction_info(spec, cells),
        "cells": cells,
        "power": power,
        "verdict": verdict(spec, cells, per_condition, power),
    }
