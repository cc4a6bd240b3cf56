"""The divergence summary: every figure ``harness divergence``, the report and a batch's ``summary.json``
show, computed once here (one definition of the trend, one widest gap, one bootstrap)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from evals.metrics.across import (
    BOOT_SEED,
    N_BOOT,
    Interval,
    LevelDistribution,
    cluster_bootstrap,
    level_distributions,
    pairwise_wasserstein,
)
from evals.metrics.divergence import (
    Cell,
    TrendLabel,
    cells_of,
    concession_index,
    concessions_of,
    distances_of,
    level_series,
    move_means,
    slope,
    trend_of,
    widest_cell,
)
from evals.metrics.table import Pair, Scale, ScoreTable, mean_or_none, pair_label
from harness.schema import AxisScore


@dataclass(frozen=True)
class PairFigures:
    pair: Pair
    distance: Interval  # mean distance over runs and moves, with its cluster-bootstrap CI
    n_runs: int  # runs in which the pair was scored at least once
    trend_slope: float | None
    wasserstein: Interval | None


@dataclass(frozen=True)
class DelegationFigures:
    delegation: str
    n_runs: int
    distribution: LevelDistribution
    mean_level: Interval


@dataclass(frozen=True)
class AxisFigures:
    axis: str
    scale: Scale
    moves: list[str]
    pairs: list[Pair]
    delegations: list[str]
    cells: list[Cell]
    series: dict[str, list[float | None]]
    trend: TrendLabel
    widest: Cell | None
    pair_figures: list[PairFigures]
    delegation_figures: list[DelegationFigures]
    concession: dict[str, float | None]

    def cell(self, pair: Pair, move: str) -> Cell:
        return next(c for c in self.cells if c.pair == pair and c.move == move)


@dataclass(frozen=True)
class Summary:
    scorer: str | None
    model: str | None
    runs: list[str]
    axes: list[AxisFigures]

    def to_json(self) -> dict[str, Any]:
        return {
            "scorer": self.scorer,
            "model": self.model,
            "runs": self.runs,
            "axes": {a.axis: _axis_json(a) for a in self.axes},
        }


def _axis_json(a: AxisFigures) -> dict[str, Any]:
    table = {pair_label(p): {c.move: c.value for c in a.cells if c.pair == p} for p in a.pairs}
    w = a.widest
    return {
        "scale": list(a.scale),
        "moves": a.moves,
        "pairs": [pair_label(p) for p in a.pairs],
        "distance": table,
        "distance_mean": {
            pair_label(f.pair): {**f.distance.as_dict(), "n_runs": f.n_runs} for f in a.pair_figures
        },
        "trend": {**{pair_label(f.pair): f.trend_slope for f in a.pair_figures}, "mean": a.trend.slope},
        "trend_label": {
            "label": a.trend.label,
            "change": a.trend.change,
            "first_move": a.trend.first_move,
            "last_move": a.trend.last_move,
            "first": a.trend.first_value,
            "last": a.trend.last_value,
        },
        "widest": None
        if w is None
        else {
            "pair": pair_label(w.pair),
            "move": w.move,
            "value": w.value,
            "level_a": w.level_a,
            "level_b": w.level_b,
            "n_runs": w.n,
        },
        "concession": a.concession,
        "levels": {
            f.delegation: {
                "n": f.distribution.n,
                "missing": f.distribution.missing,
                "p": f.distribution.probs,
            }
            for f in a.delegation_figures
        },
        "level_mean": {f.delegation: f.mean_level.as_dict() for f in a.delegation_figures},
        "wasserstein": {
            pair_label(f.pair): f.wasserstein.as_dict() for f in a.pair_figures if f.wasserstein is not None
        },
    }


def summarise(
    scores: Sequence[AxisScore],
    *,
    scales: Mapping[str, Scale] | None = None,
    moves: Sequence[str] = (),
    axes: Sequence[str] = (),
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
    wasserstein: bool = True,
) -> Summary:
    """All divergence figures of one source's scores (one scorer, one judge model).

    ``moves`` and ``axes`` give a preferred order (e.g. the scenario's); anything else in the scores
    follows in the order the runs have it. ``wasserstein=False`` skips the W1 intervals (their bootstrap
    is the costly part on large batches).
    """
    t = ScoreTable(scores, scales)
    dist = distances_of(t)
    conc = concession_index(concessions_of(t))
    levels = level_distributions(scores, t.scales)
    w1 = pairwise_wasserstein(levels)
    all_moves = t.all_moves(moves)
    figures: list[AxisFigures] = []
    for axis in [a for a in axes if a in t.axes] + [a for a in t.axes if a not in axes]:
        pairs = sorted({d.pair for d in dist if d.axis == axis})
        dels = sorted({s.delegation for s in scores if s.axis == axis})
        cells = cells_of(t, axis, all_moves, pairs)
        by_run = {r: [s for s in scores if s.run_id == r and s.axis == axis] for r in t.runs}
        pair_figs = []
        for p in pairs:
            per_run = {
                r: [d.value for d in dist if d.run_id == r and d.axis == axis and d.pair == p] for r in t.runs
            }
            per_move = [c.value for m in all_moves for c in cells if c.pair == p and c.move == m]
            w1_iv = (
                cluster_bootstrap(by_run, partial(_w1_of, axis=axis, pair=p, t=t), n_boot=n_boot, seed=seed)
                if wasserstein and (axis, p) in w1
                else None
            )
            n_runs = sum(1 for v in per_run.values() if any(x is not None for x in v))
            interval = cluster_bootstrap(per_run, mean_or_none, n_boot=n_boot, seed=seed)
            pair_figs.append(PairFigures(p, interval, n_runs, slope(per_move), w1_iv))
        del_figs = []
        for d in dels:
            per_run_levels = {
                r: [float(lv) for m in t.moves[r] if (lv := t.level(r, m, axis, d)) is not None]
                for r in t.runs
            }
            del_figs.append(
                DelegationFigures(
                    d,
                    sum(1 for v in per_run_levels.values() if v),
                    levels[(axis, d)],
                    cluster_bootstrap(per_run_levels, mean_or_none, n_boot=n_boot, seed=seed),
                )
            )
        figures.append(
            AxisFigures(
                axis=axis,
                scale=t.scale(axis),
                moves=all_moves,
                pairs=pairs,
                delegations=dels,
                cells=cells,
                series={d: level_series(t, axis, all_moves, d) for d in dels},
                trend=trend_of(all_moves, move_means(cells, all_moves)),
                widest=widest_cell(cells, all_moves),
                pair_figures=pair_figs,
                delegation_figures=del_figs,
                concession={f"{i}→{j}": v for (a, i, j), v in conc.items() if a == axis},
            )
        )
    first = scores[0] if scores else None
    return Summary(first.scorer if first else None, first.model if first else None, t.runs, figures)


def _w1_of(scores: list[AxisScore], axis: str, pair: Pair, t: ScoreTable) -> float | None:
    return pairwise_wasserstein(level_distributions(scores, t.scales)).get((axis, pair))


def divergence_summary(
    scores: Sequence[AxisScore],
    *,
    scales: Mapping[str, Scale] | None = None,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
) -> dict[str, Any]:
    """Everything `harness divergence` prints, as one JSON-ready dict (one scorer/model's scores)."""
    return summarise(scores, scales=scales, n_boot=n_boot, seed=seed).to_json()


def summary_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The summary flattened for CSV: one row per (axis, kind, key, move)."""
    rows: list[dict[str, Any]] = []
    for axis, a in summary["axes"].items():
        for pair, per_move in a["distance"].items():
            rows += [
                {"axis": axis, "kind": "distance", "key": pair, "move": m, "value": v}
                for m, v in per_move.items()
            ]
        for kind in ("distance_mean", "wasserstein", "level_mean"):
            for key, iv in a[kind].items():
                rows.append(
                    {
                        "axis": axis,
                        "kind": kind,
                        "key": key,
                        "move": "",
                        "value": iv["estimate"],
                        "low": iv["low"],
                        "high": iv["high"],
                    }
                )
        rows += [
            {"axis": axis, "kind": "trend", "key": k, "move": "", "value": v} for k, v in a["trend"].items()
        ]
        label = a["trend_label"]
        rows.append(
            {"axis": axis, "kind": "trend_label", "key": label["label"], "move": "", "value": label["change"]}
        )
        if a["widest"] is not None:
            w = a["widest"]
            rows.append(
                {"axis": axis, "kind": "widest", "key": w["pair"], "move": w["move"], "value": w["value"]}
            )
        rows += [
            {"axis": axis, "kind": "concession", "key": k, "move": "", "value": v}
            for k, v in a["concession"].items()
        ]
    return rows
