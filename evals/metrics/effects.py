"""Two conditions compared: the effect (B − A), its interval and p-value, corrections across cells, power.

One definition, used by ``harness compare`` and by every sensitivity experiment:

* **Units**: each side maps a run to that run's values of one cell (e.g. a delegation's levels on one
  axis over the moves; or one run's mean pairwise distance). The effect is the difference of the pooled
  means, B − A.
* **Pairing**: runs of A and B with the same pairing key (seed and repetition) form one cluster; with two
  or more such pairs the bootstrap resamples the pairs (``paired``). Otherwise each side is resampled over
  its own runs (``unpaired``: a stratified cluster bootstrap). Both are :func:`cluster_bootstrap`.
* **p-value**: the two-sided bootstrap p-value of 0 from the same replicates
  (:func:`~evals.metrics.across.bootstrap_p_value`); consistent with the percentile interval.
* **W1**: on an ordinal scale, the Wasserstein-1 distance between the two sides' level distributions
  (in levels), with its interval from the same resampling. W1 ≥ 0, so its interval never "covers 0":
  it describes how far the distributions moved; the test is on the mean difference.
* **Multiple testing**: :func:`adjust_p` (Holm's step-down, family-wise error; or Benjamini–Hochberg,
  false discovery rate) over the cells of one experiment.
* **Power**: :func:`min_detectable` — the smallest true difference detected with the given power at the
  strictest corrected level α/m, from the bootstrap standard error (normal approximation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from evals.metrics.across import BOOT_SEED, CONFIDENCE, N_BOOT, Interval, cluster_bootstrap, wasserstein1
from evals.metrics.table import Scale, mean_or_none

Side = Literal["a", "b"]
Tagged = tuple[Side, float]
Correction = Literal["holm", "bh"]
CORRECTIONS: dict[str, str] = {
    "holm": "Holm step-down (family-wise error rate)",
    "bh": "Benjamini-Hochberg (false discovery rate)",
}


@dataclass(frozen=True)
class Effect:
    """B − A for one cell."""

    diff: Interval  # estimate, percentile CI, bootstrap SE and p-value (against 0)
    mean_a: float | None
    mean_b: float | None
    w1: Interval | None  # W1 between the sides' level distributions (ordinal scales only)
    n_a: int  # runs of A with at least one value
    n_b: int
    n_pairs: int
    method: str  # paired | unpaired | none

    def as_dict(self) -> dict[str, object]:
        return {
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "diff": self.diff.estimate,
            "low": self.diff.low,
            "high": self.diff.high,
            "se": self.diff.se,
            "p_value": self.diff.p_value,
            "w1": None if self.w1 is None else self.w1.estimate,
            "w1_low": None if self.w1 is None else self.w1.low,
            "w1_high": None if self.w1 is None else self.w1.high,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "n_pairs": self.n_pairs,
            "method": self.method,
        }


def _diff(items: list[Tagged]) -> float | None:
    a = mean_or_none(v for s, v in items if s == "a")
    b = mean_or_none(v for s, v in items if s == "b")
    return None if a is None or b is None else b - a


def _w1(scale: Scale, items: list[Tagged]) -> float | None:
    probs: dict[str, list[float]] = {}
    for side in ("a", "b"):
        counts = [0] * len(scale)
        for s, v in items:
            if s == side and int(v) in scale:
                counts[scale.index(int(v))] += 1
        total = sum(counts)
        if not total:
            return None
        probs[side] = [c / total for c in counts]
    return wasserstein1(probs["a"], probs["b"])


def two_sample_effect(
    a: Mapping[str, Sequence[float | None]],
    b: Mapping[str, Sequence[float | None]],
    *,
    pair_of: Mapping[str, str] | None = None,
    scale: Scale | None = None,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
    confidence: float = CONFIDENCE,
) -> Effect:
    """The effect B − A of one cell (see the module doc); ``None`` values are missing data, skipped."""
    va = {r: [float(v) for v in vals if v is not None] for r, vals in a.items()}
    vb = {r: [float(v) for v in vals if v is not None] for r, vals in b.items()}
    va = {r: v for r, v in va.items() if v}
    vb = {r: v for r, v in vb.items() if v}
    mean_a = mean_or_none(x for v in va.values() for x in v)
    mean_b = mean_or_none(x for v in vb.values() for x in v)
    keyed_a = {pair_of[r]: r for r in va if pair_of and r in pair_of}
    keyed_b = {pair_of[r]: r for r in vb if pair_of and r in pair_of}
    common = [k for k in keyed_a if k in keyed_b]
    clusters: dict[str, list[Tagged]] = {}
    strata: dict[str, str] | None = None
    if len(common) >= 2:
        method = "paired"
        for k in common:
            clusters[k] = [("a", x) for x in va[keyed_a[k]]] + [("b", x) for x in vb[keyed_b[k]]]
    elif va and vb:
        method = "unpaired"
        strata = {}
        for side, values in (("a", va), ("b", vb)):
            for r, v in values.items():
                key = f"{side}:{r}"
                clusters[key] = [(side, x) for x in v]  # type: ignore[misc]
                strata[key] = side
    else:
        empty = Interval(None, None, None, 0, 0)
        return Effect(empty, mean_a, mean_b, None, len(va), len(vb), 0, "none")
    boot = {"n_boot": n_boot, "seed": seed, "confidence": confidence, "strata": strata}
    diff = cluster_bootstrap(clusters, _diff, null=0.0, **boot)  # type: ignore[arg-type]
    w1 = None
    if scale is not None:
        w1 = cluster_bootstrap(clusters, lambda items: _w1(scale, items), **boot)  # type: ignore[arg-type]
    return Effect(diff, mean_a, mean_b, w1, len(va), len(vb), len(common), method)


def adjust_p(p_values: Sequence[float | None], method: Correction = "holm") -> list[float | None]:
    """Adjusted p-values across the cells of one family (``None`` cells are left out of the count)."""
    idx = [i for i, p in enumerate(p_values) if p is not None]
    m = len(idx)
    out: list[float | None] = [None] * len(p_values)
    if not m:
        return out
    order = sorted(idx, key=lambda i: p_values[i])  # type: ignore[arg-type, return-value]
    ps = [float(p_values[i]) for i in order]  # type: ignore[arg-type]
    adjusted = [0.0] * m
    if method == "holm":
        running = 0.0
        for rank, p in enumerate(ps):
            running = max(running, min(1.0, (m - rank) * p))
            adjusted[rank] = running
    elif method == "bh":
        running = 1.0
        for rank in range(m - 1, -1, -1):
            running = min(running, ps[rank] * m / (rank + 1))
            adjusted[rank] = min(1.0, running)
    else:
        raise ValueError(f"unknown correction {method!r}: choose holm or bh")
    for rank, i in enumerate(order):
        out[i] = adjusted[rank]
    return out


def min_detectable(se: float | None, *, alpha: float = 0.05, m: int = 1, power: float = 0.8) -> float | None:
    """The smallest true difference detected with ``power`` at level α/m (two-sided), given the effect's
    standard error: (z(1 − α/2m) + z(power)) × SE."""
    if se is None:
        return None
    z = NormalDist()
    return (z.inv_cdf(1 - alpha / (2 * max(1, m))) + z.inv_cdf(power)) * se


def p_floor(n_boot: int) -> float:
    """The smallest p-value ``n_boot`` replicates can give (:func:`bootstrap_p_value`)."""
    return 2.0 / (n_boot + 1)


__all__ = [
    "CORRECTIONS",
    "Correction",
    "Effect",
    "adjust_p",
    "min_detectable",
    "p_floor",
    "two_sample_effect",
]
