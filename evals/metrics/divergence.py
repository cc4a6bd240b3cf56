"""Per run and move: pairwise distances, stance series, the trend of the gap, concessions, gaps to cards
and to persona priors (docs/evaluation.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from evals.metrics.table import Pair, Scale, ScoreTable, max_gap, mean_or_none
from harness.schema import AxisScore

TREND_EPS = 0.05
"""The least change in the mean distance, over the moves scored, that counts as widened or narrowed."""


# ------------------------------------------------------------------------------------------------
# distances
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distance:
    run_id: str
    axis: str
    move: str
    pair: Pair
    value: float | None


def distances_of(t: ScoreTable) -> list[Distance]:
    """|x_i − x_j| / (scale width) for every pair of each run's delegations, per move and axis."""
    out: list[Distance] = []
    for run, moves in t.moves.items():
        for axis in t.axes:
            gap = max_gap(t.scale(axis))
            for move in moves:
                for a, b in t.pairs(run):
                    x, y = t.level(run, move, axis, a), t.level(run, move, axis, b)
                    value = abs(x - y) / gap if x is not None and y is not None else None
                    out.append(Distance(run, axis, move, (a, b), value))
    return out


def pairwise_distances(
    scores: Iterable[AxisScore], scales: Mapping[str, Scale] | None = None
) -> list[Distance]:
    return distances_of(ScoreTable(scores, scales))


@dataclass(frozen=True)
class Cell:
    """One (axis, move, pair) over runs: the mean distance and the mean levels where both were scored."""

    axis: str
    move: str
    pair: Pair
    value: float | None
    n: int  # runs in which both delegations were scored
    level_a: float | None
    level_b: float | None


def cells_of(t: ScoreTable, axis: str, moves: Sequence[str], pairs: Sequence[Pair]) -> list[Cell]:
    gap = max_gap(t.scale(axis))
    out: list[Cell] = []
    for pair in pairs:
        for move in moves:
            dists, las, lbs = [], [], []
            for run in t.runs:
                la, lb = t.level(run, move, axis, pair[0]), t.level(run, move, axis, pair[1])
                if la is not None and lb is not None:
                    dists.append(abs(la - lb) / gap)
                    las.append(float(la))
                    lbs.append(float(lb))
            out.append(
                Cell(axis, move, pair, mean_or_none(dists), len(dists), mean_or_none(las), mean_or_none(lbs))
            )
    return out


def widest_cell(cells: Sequence[Cell], moves: Sequence[str]) -> Cell | None:
    """The widest gap: the largest mean distance; on a tie the earliest move, then the first pair."""
    scored = [c for c in cells if c.value is not None]
    if not scored:
        return None
    order = {m: i for i, m in enumerate(moves)}
    return min(scored, key=lambda c: (-(c.value or 0.0), order.get(c.move, len(order))))


def level_series(t: ScoreTable, axis: str, moves: Sequence[str], delegation: str) -> list[float | None]:
    """A delegation's mean level at each move (over runs); ``None`` where it was not scored."""
    return [
        mean_or_none(
            t.level(run, m, axis, delegation) for run in t.runs if (run, m, axis, delegation) in t.levels
        )
        for m in moves
    ]


# ------------------------------------------------------------------------------------------------
# trend
# ------------------------------------------------------------------------------------------------


def slope(ys: Sequence[float | None]) -> float | None:
    """Least-squares slope of ``ys`` against 0, 1, 2…, skipping missing points (None under two)."""
    pts = [(float(x), y) for x, y in enumerate(ys) if y is not None]
    if len(pts) < 2:
        return None
    xs = np.array([p[0] for p in pts])
    vs = np.array([p[1] for p in pts])
    return float(np.sum((xs - xs.mean()) * (vs - vs.mean())) / np.sum((xs - xs.mean()) ** 2))


@dataclass(frozen=True)
class TrendLabel:
    """The one definition of "did the gap widen": the least-squares slope of the mean distance over the
    moves, times the span of the moves scored (the fitted change from the first to the last), against
    :data:`TREND_EPS`."""

    slope: float | None
    change: float | None
    label: str  # widened | narrowed | held steady | one move scored | no pair scored
    first_move: str | None
    last_move: str | None
    first_value: float | None
    last_value: float | None


def trend_of(moves: Sequence[str], values: Sequence[float | None]) -> TrendLabel:
    scored = [(i, m, v) for i, (m, v) in enumerate(zip(moves, values, strict=True)) if v is not None]
    if not scored:
        return TrendLabel(None, None, "no pair scored", None, None, None, None)
    (i0, m0, v0), (i1, m1, v1) = scored[0], scored[-1]
    if i0 == i1:
        return TrendLabel(None, None, "one move scored", m0, m1, v0, v1)
    s = slope(values)
    assert s is not None
    change = s * (i1 - i0)
    label = "widened" if change > TREND_EPS else "narrowed" if change < -TREND_EPS else "held steady"
    return TrendLabel(s, change, label, m0, m1, v0, v1)


def move_means(cells: Sequence[Cell], moves: Sequence[str]) -> list[float | None]:
    """The mean distance over pairs at each move (the series whose trend is reported)."""
    return [mean_or_none(c.value for c in cells if c.move == m) for m in moves]


@dataclass(frozen=True)
class Trend:
    run_id: str
    axis: str
    pair: Pair | None  # None: the mean over all pairs
    slope: float | None


def divergence_trend(distances: Sequence[Distance]) -> list[Trend]:
    """Slope of distance over each run's moves, per pair and for the mean over pairs (<0: converging)."""
    series: dict[tuple[str, str, Pair], list[float | None]] = {}
    per_move: dict[tuple[str, str], dict[str, list[float | None]]] = {}
    for d in distances:
        series.setdefault((d.run_id, d.axis, d.pair), []).append(d.value)
        per_move.setdefault((d.run_id, d.axis), {}).setdefault(d.move, []).append(d.value)
    out = [Trend(run, axis, pair, slope(ys)) for (run, axis, pair), ys in series.items()]
    for (run, axis), moves in per_move.items():
        out.append(Trend(run, axis, None, slope([mean_or_none(v) for v in moves.values()])))
    return out


# ------------------------------------------------------------------------------------------------
# concession
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Concession:
    run_id: str
    axis: str
    from_move: str
    to_move: str
    mover: str
    toward: str
    value: float | None  # (|x_i(t) − x_j(t)| − |x_i(t+1) − x_j(t)|) / width; > 0: i moved toward j


def concessions_of(t: ScoreTable) -> list[Concession]:
    out: list[Concession] = []
    for run, moves in t.moves.items():
        dels = sorted(t.delegations[run])
        for axis in t.axes:
            gap = max_gap(t.scale(axis))
            for m0, m1 in pairwise(moves):
                for i in dels:
                    for j in dels:
                        if i == j:
                            continue
                        xi0, xi1 = t.level(run, m0, axis, i), t.level(run, m1, axis, i)
                        xj0 = t.level(run, m0, axis, j)
                        value = (
                            (abs(xi0 - xj0) - abs(xi1 - xj0)) / gap
                            if xi0 is not None and xi1 is not None and xj0 is not None
                            else None
                        )
                        out.append(Concession(run, axis, m0, m1, i, j, value))
    return out


def concessions(scores: Iterable[AxisScore], scales: Mapping[str, Scale] | None = None) -> list[Concession]:
    """Who moved toward whom between consecutive moves, for every ordered pair of delegations."""
    return concessions_of(ScoreTable(scores, scales))


def concession_index(items: Iterable[Concession]) -> dict[tuple[str, str, str], float | None]:
    """Mean concession per (axis, mover, toward) over runs and move transitions."""
    groups: dict[tuple[str, str, str], list[float | None]] = {}
    for c in items:
        groups.setdefault((c.axis, c.mover, c.toward), []).append(c.value)
    return {k: mean_or_none(v) for k, v in groups.items()}


# ------------------------------------------------------------------------------------------------
# stated vs revealed, persona priors
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    run_id: str
    move: str
    delegation: str
    axis: str
    stated: int | None
    revealed: int | None
    gap: float | None  # (stated − revealed) / width


def stated_revealed_gap(
    stated: Iterable[AxisScore], revealed: Iterable[AxisScore], scales: Mapping[str, Scale] | None = None
) -> list[Gap]:
    """Card level minus the level revealed in speech (e.g. the judge's), per unit in either set."""
    s, r = ScoreTable(stated, scales), ScoreTable(revealed, scales)
    out: list[Gap] = []
    for key in list(s.levels) + [k for k in r.levels if k not in s.levels]:
        run, move, axis, deleg = key
        a, b = s.levels.get(key), r.levels.get(key)
        value = (a - b) / max_gap(s.scale(axis)) if a is not None and b is not None else None
        out.append(Gap(run, move, deleg, axis, a, b, value))
    return out


@dataclass(frozen=True)
class PriorDeviation:
    run_id: str
    move: str
    delegation: str
    axis: str
    level: int | None
    prior: int | None
    deviation: float | None  # (level − prior) / width


def prior_deviation(
    scores: Iterable[AxisScore],
    priors: Mapping[str, Mapping[str, int]],
    scales: Mapping[str, Scale] | None = None,
) -> list[PriorDeviation]:
    """Signed deviation from persona priors, given as ``{delegation: {axis: level}}``."""
    table = ScoreTable([], scales)
    out: list[PriorDeviation] = []
    for s in scores:
        prior = priors.get(s.delegation, {}).get(s.axis)
        gap = max_gap(table.scale(s.axis))
        dev = (s.level - prior) / gap if s.level is not None and prior is not None else None
        out.append(PriorDeviation(s.run_id, s.move, s.delegation, s.axis, s.level, prior, dev))
    return out
