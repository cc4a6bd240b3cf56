"""``harness compare A B``: two conditions of a batch, axis by axis and pair by pair.

A side is a condition label of the batch's index or a run-id prefix. Each run contributes, per axis and
delegation pair, its mean distance |x_i − x_j|/4 over moves. Runs of A and B with the same (seed,
repetition) are **paired** (same seed, different condition): the difference is the mean of the paired
differences B − A with a bootstrap CI over pairs. Where fewer than two pairs exist, the sides are compared
unpaired: difference of means, each side resampled over its own runs. The effect, its interval and its
p-value are :func:`evals.metrics.two_sample_effect`, the same definition every sensitivity experiment uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.metrics import adjust_p, mean_or_none, pair_label, pairwise_distances, two_sample_effect
from harness.batch.outputs import load_scores, read_index
from harness.errors import ConfigError


@dataclass(frozen=True)
class Contrast:
    axis: str
    pair: str
    mean_a: float | None
    mean_b: float | None
    diff: float | None  # B − A
    low: float | None
    high: float | None
    p_value: float | None  # two-sided bootstrap p-value of "no difference"
    n_a: int
    n_b: int
    n_pairs: int
    method: str  # paired | unpaired | none


def select(rows: Sequence[dict[str, Any]], ref: str) -> list[dict[str, Any]]:
    """Completed runs of a condition label, or else of a run-id prefix."""
    chosen = [r for r in rows if r.get("condition") == ref]
    if not chosen:
        chosen = [r for r in rows if str(r.get("run_id", "")).startswith(ref)]
    if not chosen:
        labels = sorted({str(r.get("condition")) for r in rows})
        raise ConfigError(
            f"{ref!r} is neither a condition of this batch nor a run-id prefix ({', '.join(labels)})"
        )
    done = [r for r in chosen if r.get("status") == "completed"]
    if not done:
        raise ConfigError(f"{ref!r}: none of its {len(chosen)} runs is completed")
    return done


def run_means(batch_dir: Path, run_id: str, scorer: str) -> dict[tuple[str, str], float]:
    """Per (axis, pair label): the run's mean distance over moves (pairs never scored are absent)."""
    values: dict[tuple[str, str], list[float | None]] = {}
    for d in pairwise_distances(load_scores(batch_dir / run_id, scorer)):
        values.setdefault((d.axis, pair_label(d.pair)), []).append(d.value)
    out: dict[tuple[str, str], float] = {}
    for key, vals in values.items():
        m = mean_or_none(vals)
        if m is not None:
            out[key] = m
    return out


def _contrast(
    axis: str,
    pair: str,
    a: dict[str, float],
    b: dict[str, float],
    pair_of: dict[str, str],
    *,
    n_boot: int,
    seed: int,
    confidence: float,
) -> Contrast:
    """One unit's contrast, from the one effect definition (:func:`evals.metrics.two_sample_effect`)."""
    e = two_sample_effect(
        {r: [v] for r, v in a.items()},
        {r: [v] for r, v in b.items()},
        pair_of=pair_of,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
    )
    d = e.diff
    return Contrast(
        axis,
        pair,
        e.mean_a,
        e.mean_b,
        d.estimate,
        d.low,
        d.high,
        d.p_value,
        e.n_a,
        e.n_b,
        e.n_pairs,
        e.method,
    )


def compare(
    batch_dir: Path,
    a: str,
    b: str,
    *,
    scorer: str = "rules",
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    rows = read_index(batch_dir)
    side_a, side_b = select(rows, a), select(rows, b)
    overlap = {r["run_id"] for r in side_a} & {r["run_id"] for r in side_b}
    if overlap:
        raise ConfigError(
            f"{a!r} and {b!r} share runs ({', '.join(sorted(overlap)[:3])}…): nothing to compare"
        )

    pair_of = {r["run_id"]: f"s{r.get('seed') or 0}-r{r.get('rep') or 1}" for r in [*side_a, *side_b]}

    def by_unit(side: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, float]]:
        out: dict[tuple[str, str], dict[str, float]] = {}
        for row in side:
            for unit, value in run_means(batch_dir, row["run_id"], scorer).items():
                out.setdefault(unit, {})[row["run_id"]] = value
        return out

    ma, mb = by_unit(side_a), by_unit(side_b)
    units = list(dict.fromkeys([*ma, *mb]))
    contrasts = [
        _contrast(
            axis,
            pair,
            ma.get((axis, pair), {}),
            mb.get((axis, pair), {}),
            pair_of,
            n_boot=n_boot,
            seed=seed,
            confidence=confidence,
        )
        for axis, pair in units
    ]
    return {
        "batch": str(batch_dir),
        "a": {"ref": a, "runs": [r["run_id"] for r in side_a]},
        "b": {"ref": b, "runs": [r["run_id"] for r in side_b]},
        "scorer": scorer,
        "n_boot": n_boot,
        "confidence": confidence,
        "difference": "B - A (mean pairwise distance |x_i - x_j|/4; > 0: B diverges more)",
        "correction": "p_adjusted: Holm over the contrasts listed (family-wise error rate)",
        "contrasts": [
            {**asdict(c), "p_adjusted": p}
            for c, p in zip(contrasts, adjust_p([c.p_value for c in contrasts], "holm"), strict=True)
        ],
    }
