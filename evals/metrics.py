"""Divergence metrics over :class:`AxisScore` lists (DESIGN §5).

Conventions: delegations and pairs come from the data (never a fixed list); a pair is the two ids in
sorted order; moves keep the order in which each run played them. ``None`` is missing data and stays
missing: a distance with one side unscored is ``None``, never 0 or the midpoint, and means skip it.
All functions expect scores from one source (one scorer, one judge model): a unit scored twice is an
error (split a panel's scores by model first, see :func:`split_by_source`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import combinations, pairwise
from typing import Any, TypeVar

import numpy as np

from harness.errors import HarnessError
from harness.schema import LEVELS, AxisScore

T = TypeVar("T")
Pair = tuple[str, str]
MAX_GAP = float(LEVELS[-1] - LEVELS[0])  # 4: distances are |x_i - x_j| / 4


def pair_label(pair: Pair) -> str:
    return f"{pair[0]}–{pair[1]}"


def mean_or_none(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def split_by_source(scores: Iterable[AxisScore]) -> dict[tuple[str, str | None], list[AxisScore]]:
    """Scores grouped by (scorer, model): each group is one rater."""
    out: dict[tuple[str, str | None], list[AxisScore]] = {}
    for s in scores:
        out.setdefault((s.scorer, s.model), []).append(s)
    return out


class _Table:
    """Levels by unit plus the orders (runs, moves, axes, delegations) in which the data has them."""

    def __init__(self, scores: Iterable[AxisScore]) -> None:
        self.levels: dict[tuple[str, str, str, str], int | None] = {}
        self.moves: dict[str, list[str]] = {}
        self.delegations: dict[str, list[str]] = {}
        self.axes: list[str] = []
        for s in scores:
            key = (s.run_id, s.move, s.axis, s.delegation)
            if key in self.levels:
                raise HarnessError(
                    f"{s.run_id} {s.move} {s.delegation} {s.axis}: scored twice (use one scorer and model)"
                )
            self.levels[key] = s.level
            for bucket, item in ((self.moves, s.move), (self.delegations, s.delegation)):
                seen = bucket.setdefault(s.run_id, [])
                if item not in seen:
                    seen.append(item)
            if s.axis not in self.axes:
                self.axes.append(s.axis)

    def level(self, run: str, move: str, axis: str, delegation: str) -> int | None:
        return self.levels.get((run, move, axis, delegation))

    def pairs(self, run: str) -> list[Pair]:
        return list(combinations(sorted(self.delegations.get(run, [])), 2))


# ------------------------------------------------------------------------------------------------
# Per run: distances, trend, concession
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distance:
    run_id: str
    axis: str
    move: str
    pair: Pair
    value: float | None


def pairwise_distances(scores: Iterable[AxisScore]) -> list[Distance]:
    """|x_i − x_j| / 4 for every pair of the run's delegations, per move and axis."""
    t = _Table(scores)
    out: list[Distance] = []
    for run, moves in t.moves.items():
        for axis in t.axes:
            for move in moves:
                for a, b in t.pairs(run):
                    x, y = t.level(run, move, axis, a), t.level(run, move, axis, b)
                    value = abs(x - y) / MAX_GAP if x is not None and y is not None else None
                    out.append(Distance(run, axis, move, (a, b), value))
    return out


def slope(ys: Sequence[float | None]) -> float | None:
    """Least-squares slope of ``ys`` against 0, 1, 2…, skipping missing points (None under two)."""
    pts = [(float(x), y) for x, y in enumerate(ys) if y is not None]
    if len(pts) < 2:
        return None
    xs = np.array([p[0] for p in pts])
    vs = np.array([p[1] for p in pts])
    return float(np.sum((xs - xs.mean()) * (vs - vs.mean())) / np.sum((xs - xs.mean()) ** 2))


@dataclass(frozen=True)
class Trend:
    run_id: str
    axis: str
    pair: Pair | None  # None: the mean over all pairs
    slope: float | None


def divergence_trend(distances: Sequence[Distance]) -> list[Trend]:
    """Slope of distance over the run's moves, per pair and for the mean over pairs (<0: converging)."""
    series: dict[tuple[str, str, Pair], list[float | None]] = {}
    per_move: dict[tuple[str, str], dict[str, list[float | None]]] = {}
    for d in distances:
        series.setdefault((d.run_id, d.axis, d.pair), []).append(d.value)
        per_move.setdefault((d.run_id, d.axis), {}).setdefault(d.move, []).append(d.value)
    out = [Trend(run, axis, pair, slope(ys)) for (run, axis, pair), ys in series.items()]
    for (run, axis), moves in per_move.items():
        out.append(Trend(run, axis, None, slope([mean_or_none(v) for v in moves.values()])))
    return out


@dataclass(frozen=True)
class Concession:
    run_id: str
    axis: str
    from_move: str
    to_move: str
    mover: str
    toward: str
    value: float | None  # (|x_i(t) − x_j(t)| − |x_i(t+1) − x_j(t)|) / 4; > 0: i moved toward j


def concessions(scores: Iterable[AxisScore]) -> list[Concession]:
    """Who moved toward whom between consecutive moves, for every ordered pair of delegations."""
    t = _Table(scores)
    out: list[Concession] = []
    for run, moves in t.moves.items():
        dels = sorted(t.delegations[run])
        for axis in t.axes:
            for m0, m1 in pairwise(moves):
                for i in dels:
                    for j in dels:
                        if i == j:
                            continue
                        xi0, xi1, xj0 = (
                            t.level(run, m0, axis, i),
                            t.level(run, m1, axis, i),
                            t.level(run, m0, axis, j),
                        )
                        value = (
                            (abs(xi0 - xj0) - abs(xi1 - xj0)) / MAX_GAP
                            if xi0 is not None and xi1 is not None and xj0 is not None
                            else None
                        )
                        out.append(Concession(run, axis, m0, m1, i, j, value))
    return out


def concession_index(items: Iterable[Concession]) -> dict[tuple[str, str, str], float | None]:
    """Mean concession per (axis, mover, toward) over runs and move transitions."""
    groups: dict[tuple[str, str, str], list[float | None]] = {}
    for c in items:
        groups.setdefault((c.axis, c.mover, c.toward), []).append(c.value)
    return {k: mean_or_none(v) for k, v in groups.items()}


# ------------------------------------------------------------------------------------------------
# Stated vs revealed, persona priors
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    run_id: str
    move: str
    delegation: str
    axis: str
    stated: int | None
    revealed: int | None
    gap: float | None  # (stated − revealed) / 4


def stated_revealed_gap(stated: Iterable[AxisScore], revealed: Iterable[AxisScore]) -> list[Gap]:
    """Card level minus the level revealed in speech (e.g. the judge's), per unit in either set."""
    s, r = _Table(stated), _Table(revealed)
    out: list[Gap] = []
    for key in list(s.levels) + [k for k in r.levels if k not in s.levels]:
        run, move, axis, deleg = key
        a, b = s.levels.get(key), r.levels.get(key)
        out.append(
            Gap(run, move, deleg, axis, a, b, (a - b) / MAX_GAP if a is not None and b is not None else None)
        )
    return out


@dataclass(frozen=True)
class PriorDeviation:
    run_id: str
    move: str
    delegation: str
    axis: str
    level: int | None
    prior: int | None
    deviation: float | None  # (level − prior) / 4


def prior_deviation(
    scores: Iterable[AxisScore], priors: Mapping[str, Mapping[str, int]]
) -> list[PriorDeviation]:
    """Signed deviation from persona priors, given as ``{delegation: {axis: level}}``."""
    out: list[PriorDeviation] = []
    for s in scores:
        prior = priors.get(s.delegation, {}).get(s.axis)
        dev = (s.level - prior) / MAX_GAP if s.level is not None and prior is not None else None
        out.append(PriorDeviation(s.run_id, s.move, s.delegation, s.axis, s.level, prior, dev))
    return out


# ------------------------------------------------------------------------------------------------
# Across runs: level distributions, Wasserstein-1, cluster bootstrap
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelDistribution:
    axis: str
    delegation: str
    counts: tuple[int, ...]  # per level 0..4
    missing: int

    @property
    def n(self) -> int:
        return sum(self.counts)

    @property
    def probs(self) -> list[float] | None:
        return [c / self.n for c in self.counts] if self.n else None


def level_distributions(scores: Iterable[AxisScore]) -> dict[tuple[str, str], LevelDistribution]:
    """Per (axis, delegation): how often each level was scored, over all runs and moves."""
    counts: dict[tuple[str, str], list[int]] = {}
    for s in scores:
        c = counts.setdefault((s.axis, s.delegation), [0] * (len(LEVELS) + 1))
        c[s.level if s.level is not None else len(LEVELS)] += 1
    return {k: LevelDistribution(k[0], k[1], tuple(c[:-1]), c[-1]) for k, c in counts.items()}


def wasserstein1(p: Sequence[float], q: Sequence[float]) -> float:
    """W1 between two distributions on the ordinal support 0..4, in levels (0 to 4)."""
    cp, cq = np.cumsum(p), np.cumsum(q)
    return float(np.sum(np.abs(cp[:-1] - cq[:-1])))


def pairwise_wasserstein(
    dists: Mapping[tuple[str, str], LevelDistribution],
) -> dict[tuple[str, Pair], float | None]:
    out: dict[tuple[str, Pair], float | None] = {}
    axes = sorted({axis for axis, _ in dists}, key=[a for a, _ in dists].index)
    for axis in axes:
        dels = sorted(d for a, d in dists if a == axis)
        for a, b in combinations(dels, 2):
            p, q = dists[(axis, a)].probs, dists[(axis, b)].probs
            out[(axis, (a, b))] = wasserstein1(p, q) if p is not None and q is not None else None
    return out


@dataclass(frozen=True)
class Interval:
    estimate: float | None
    low: float | None
    high: float | None
    n_clusters: int
    n_boot: int


def cluster_bootstrap(
    clusters: Mapping[str, Sequence[T]],
    statistic: Callable[[list[T]], float | None],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile CI for ``statistic`` resampling whole clusters (runs) with replacement, seeded."""
    keys = list(clusters)
    estimate = statistic([x for k in keys for x in clusters[k]])
    if estimate is None or len(keys) < 2 or n_boot < 1:
        return Interval(estimate, None, None, len(keys), 0)
    rng = np.random.default_rng(seed)
    reps: list[float] = []
    for _ in range(n_boot):
        picks = rng.integers(0, len(keys), size=len(keys))
        value = statistic([x for i in picks for x in clusters[keys[i]]])
        if value is not None:
            reps.append(value)
    if not reps:
        return Interval(estimate, None, None, len(keys), 0)
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(reps, [alpha, 1 - alpha])
    return Interval(estimate, float(low), float(high), len(keys), len(reps))


# ------------------------------------------------------------------------------------------------
# The summary behind `harness divergence`
# ------------------------------------------------------------------------------------------------


def _interval(iv: Interval) -> dict[str, Any]:
    return {"estimate": iv.estimate, "low": iv.low, "high": iv.high, "n_runs": iv.n_clusters}


def divergence_summary(scores: Sequence[AxisScore], *, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Everything `harness divergence` prints, as one JSON-ready dict (one scorer/model's scores)."""
    t = _Table(scores)
    dist = pairwise_distances(scores)
    conc = concession_index(concessions(scores))
    levels = level_distributions(scores)
    w1 = pairwise_wasserstein(levels)
    runs = list(t.moves)
    axes: dict[str, Any] = {}
    for axis in t.axes:
        moves = list(dict.fromkeys(m for r in runs for m in t.moves[r]))
        pairs = sorted({d.pair for d in dist if d.axis == axis})
        table = {
            pair_label(p): {
                m: mean_or_none(d.value for d in dist if d.axis == axis and d.pair == p and d.move == m)
                for m in moves
            }
            for p in pairs
        }
        mean_rows = [mean_or_none(table[pair_label(p)][m] for p in pairs) for m in moves]
        by_run = {r: [s for s in scores if s.run_id == r and s.axis == axis] for r in runs}
        axes[axis] = {
            "moves": moves,
            "pairs": [pair_label(p) for p in pairs],
            "distance": table,
            "distance_mean": {
                pair_label(p): _interval(
                    cluster_bootstrap(
                        {
                            r: [d.value for d in dist if d.run_id == r and d.axis == axis and d.pair == p]
                            for r in runs
                        },
                        mean_or_none,
                        n_boot=n_boot,
                        seed=seed,
                    )
                )
                for p in pairs
            },
            "trend": {**{k: slope(list(v.values())) for k, v in table.items()}, "mean": slope(mean_rows)},
            "concession": {f"{i}→{j}": v for (a, i, j), v in conc.items() if a == axis},
            "levels": {
                d: {"n": ld.n, "missing": ld.missing, "p": ld.probs}
                for (a, d), ld in levels.items()
                if a == axis
            },
            "wasserstein": {
                pair_label(p): _interval(
                    cluster_bootstrap(by_run, partial(_w1_of, axis=axis, pair=p), n_boot=n_boot, seed=seed)
                )
                for (a, p) in w1
                if a == axis
            },
        }
    first = scores[0] if scores else None
    return {
        "scorer": first.scorer if first else None,
        "model": first.model if first else None,
        "runs": runs,
        "axes": axes,
    }


def _w1_of(scores: list[AxisScore], axis: str, pair: Pair) -> float | None:
    return pairwise_wasserstein(level_distributions(scores)).get((axis, pair))


def summary_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The summary flattened for CSV: one row per (axis, kind, key, move)."""
    rows: list[dict[str, Any]] = []
    for axis, a in summary["axes"].items():
        for pair, per_move in a["distance"].items():
            rows += [
                {"axis": axis, "kind": "distance", "key": pair, "move": m, "value": v}
                for m, v in per_move.items()
            ]
        for kind in ("distance_mean", "wasserstein"):
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
        rows += [
            {"axis": axis, "kind": "concession", "key": k, "move": "", "value": v}
            for k, v in a["concession"].items()
        ]
    return rows
