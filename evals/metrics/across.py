"""Across runs: level distributions, Wasserstein-1 between delegations, and the one bootstrap.

Confidence intervals resample whole runs (clusters) with replacement, seeded: every interval the harness
prints — in ``harness divergence``, a batch's summary, the report, ``compare`` — comes from
:func:`cluster_bootstrap` with the same defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TypeVar

import numpy as np

from evals.metrics.table import Pair, Scale
from harness.schema import LEVELS, AxisScore

T = TypeVar("T")

N_BOOT = 1000
BOOT_SEED = 0
CONFIDENCE = 0.95


@dataclass(frozen=True)
class LevelDistribution:
    axis: str
    delegation: str
    counts: tuple[int, ...]  # per level of the scale, in order
    missing: int

    @property
    def n(self) -> int:
        return sum(self.counts)

    @property
    def probs(self) -> list[float] | None:
        return [c / self.n for c in self.counts] if self.n else None


def level_distributions(
    scores: Iterable[AxisScore], scales: Mapping[str, Scale] | None = None
) -> dict[tuple[str, str], LevelDistribution]:
    """Per (axis, delegation): how often each level was scored, over all runs and moves."""
    scales = scales or {}
    counts: dict[tuple[str, str], list[int]] = {}
    for s in scores:
        scale = scales.get(s.axis, LEVELS)
        c = counts.setdefault((s.axis, s.delegation), [0] * (len(scale) + 1))
        c[scale.index(s.level) if s.level is not None else len(scale)] += 1
    return {k: LevelDistribution(k[0], k[1], tuple(c[:-1]), c[-1]) for k, c in counts.items()}


def wasserstein1(p: Sequence[float], q: Sequence[float]) -> float:
    """W1 between two distributions on consecutive ordinal levels, in levels (0 to the scale's width)."""
    cp, cq = np.cumsum(p), np.cumsum(q)
    return float(np.sum(np.abs(cp[:-1] - cq[:-1])))


def pairwise_wasserstein(
    dists: Mapping[tuple[str, str], LevelDistribution],
) -> dict[tuple[str, Pair], float | None]:
    out: dict[tuple[str, Pair], float | None] = {}
    axes = list(dict.fromkeys(axis for axis, _ in dists))
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
    se: float | None = None  # standard deviation of the bootstrap replicates
    p_value: float | None = None  # two-sided bootstrap p-value against ``null`` (when one was given)

    def as_dict(self) -> dict[str, float | int | None]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "n_runs": self.n_clusters}


def bootstrap_p_value(reps: Sequence[float], null: float) -> float:
    """Two-sided bootstrap p-value of ``null``: twice the smaller share of replicates on either side of it
    (ties count on both sides), with the +1 correction so it is never 0 (floor 2 / (B + 1)). It is the
    smallest alpha at which the percentile interval would exclude ``null``."""
    b = len(reps)
    below = sum(1 for r in reps if r <= null)
    above = sum(1 for r in reps if r >= null)
    return min(1.0, 2.0 * (min(below, above) + 1) / (b + 1))


def cluster_bootstrap(
    clusters: Mapping[str, Sequence[T]],
    statistic: Callable[[list[T]], float | None],
    *,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
    confidence: float = CONFIDENCE,
    strata: Mapping[str, str] | None = None,
    null: float | None = None,
) -> Interval:
    """Percentile CI for ``statistic`` resampling whole clusters (runs) with replacement, seeded.

    ``strata`` (cluster -> stratum) resamples each stratum on its own, keeping its size (two conditions
    compared unpaired: each side over its own runs); every stratum needs two clusters for an interval.
    ``null`` adds the two-sided bootstrap p-value of that value (:func:`bootstrap_p_value`).
    """
    keys = list(clusters)
    estimate = statistic([x for k in keys for x in clusters[k]])
    groups: list[list[int]] = [list(range(len(keys)))]
    if strata is not None:
        by: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            by.setdefault(strata[k], []).append(i)
        groups = list(by.values())
    if estimate is None or min(len(g) for g in groups) < 2 or n_boot < 1:
        return Interval(estimate, None, None, len(keys), 0)
    rng = np.random.default_rng(seed)
    reps: list[float] = []
    for _ in range(n_boot):
        if strata is None:
            picks = rng.integers(0, len(keys), size=len(keys))
        else:
            picks = np.concatenate([np.asarray(g)[rng.integers(0, len(g), size=len(g))] for g in groups])
        value = statistic([x for i in picks for x in clusters[keys[i]]])
        if value is not None:
            reps.append(value)
    if not reps:
        return Interval(estimate, None, None, len(keys), 0)
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(reps, [alpha, 1 - alpha])
    se = float(np.std(reps, ddof=1)) if len(reps) > 1 else 0.0
    p = bootstrap_p_value(reps, null) if null is not None else None
    return Interval(estimate, float(low), float(high), len(keys), len(reps), se, p)
