"""The stated-vs-revealed gap per delegation and axis: how far the level a delegation writes on its
position card (the ``stated`` scorer) sits from the level its words reveal (a ``judge``'s, or any other
utterance scorer's).

Per unit (run, move, delegation, axis) the gap is (stated − revealed) / scale width
(:func:`~evals.metrics.divergence.stated_revealed_gap`): > 0 means the card claims a higher level than the
delegation's words show, < 0 a lower one. Per (axis, delegation), over the units both sources scored:

* ``mean``: the mean signed gap, with its cluster-bootstrap 95% interval over runs;
* ``mean_abs``: the mean absolute gap (a delegation that errs both ways has a small mean, a large mean_abs);
* ``n`` units with both levels (and ``n_stated``/``n_revealed`` with each), ``n_runs``;
* ``moves``: the mean signed gap at each move, over runs.

A unit either source left unscored has no gap (missing, never 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals.metrics.across import BOOT_SEED, N_BOOT, Interval, cluster_bootstrap
from evals.metrics.divergence import Gap, stated_revealed_gap
from evals.metrics.table import Scale, mean_or_none, source_label, split_by_source
from harness.schema import AxisScore


@dataclass(frozen=True)
class GapFigures:
    axis: str
    delegation: str
    n: int
    n_stated: int
    n_revealed: int
    n_runs: int
    mean: Interval
    mean_abs: float | None
    moves: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "n_stated": self.n_stated,
            "n_revealed": self.n_revealed,
            "mean": self.mean.as_dict(),
            "mean_abs": self.mean_abs,
            "moves": self.moves,
        }


@dataclass(frozen=True)
class GapSummary:
    scorer: str | None
    """The revealed source: its scorer and judge model (the cards are always ``stated``)."""
    model: str | None
    runs: list[str]
    moves: list[str]
    rows: list[GapFigures]

    @property
    def revealed(self) -> str:
        return source_label(self.scorer or "", self.model)

    @property
    def axes(self) -> list[str]:
        return list(dict.fromkeys(r.axis for r in self.rows))

    @property
    def delegations(self) -> list[str]:
        return list(dict.fromkeys(r.delegation for r in self.rows))

    def get(self, axis: str, delegation: str) -> GapFigures | None:
        return next((r for r in self.rows if (r.axis, r.delegation) == (axis, delegation)), None)

    def to_json(self) -> dict[str, Any]:
        axes: dict[str, dict[str, Any]] = {}
        for r in self.rows:
            axes.setdefault(r.axis, {})[r.delegation] = r.as_dict()
        return {
            "scorer": self.scorer,
            "model": self.model,
            "revealed": self.revealed,
            "runs": self.runs,
            "moves": self.moves,
            "axes": axes,
        }


def _ordered(seen: Sequence[str], order: Sequence[str]) -> list[str]:
    return [x for x in order if x in seen] + [x for x in seen if x not in order]


def gap_summary(
    stated: Sequence[AxisScore],
    revealed: Sequence[AxisScore],
    *,
    scales: Mapping[str, Scale] | None = None,
    moves: Sequence[str] = (),
    axes: Sequence[str] = (),
    delegations: Sequence[str] = (),
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
) -> GapSummary:
    """The gap of one revealed source (one scorer and model) to the cards, per axis and delegation."""
    gaps = stated_revealed_gap(stated, revealed, scales)
    runs = list(dict.fromkeys(g.run_id for g in gaps))
    all_moves = _ordered(list(dict.fromkeys(g.move for g in gaps)), moves)
    rows: list[GapFigures] = []
    for axis in _ordered(list(dict.fromkeys(g.axis for g in gaps)), axes):
        on_axis = [g for g in gaps if g.axis == axis]
        for deleg in _ordered(list(dict.fromkeys(g.delegation for g in on_axis)), delegations):
            mine = [g for g in on_axis if g.delegation == deleg]
            both = [g.gap for g in mine if g.gap is not None]
            per_run: dict[str, list[float]] = {
                r: [g.gap for g in mine if g.run_id == r and g.gap is not None] for r in runs
            }
            rows.append(
                GapFigures(
                    axis=axis,
                    delegation=deleg,
                    n=len(both),
                    n_stated=sum(g.stated is not None for g in mine),
                    n_revealed=sum(g.revealed is not None for g in mine),
                    n_runs=sum(1 for v in per_run.values() if v),
                    mean=cluster_bootstrap(per_run, mean_or_none, n_boot=n_boot, seed=seed),
                    mean_abs=mean_or_none(abs(x) for x in both),
                    moves={m: _mean_gap(mine, m) for m in all_moves},
                )
            )
    first = revealed[0] if revealed else None
    return GapSummary(first.scorer if first else None, first.model if first else None, runs, all_moves, rows)


def _mean_gap(gaps: Sequence[Gap], move: str) -> float | None:
    return mean_or_none(g.gap for g in gaps if g.move == move)


def gap_summaries(
    scores: Sequence[AxisScore],
    *,
    stated: str = "stated",
    revealed: str = "judge",
    scales: Mapping[str, Scale] | None = None,
    moves: Sequence[str] = (),
    axes: Sequence[str] = (),
    delegations: Sequence[str] = (),
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
) -> list[GapSummary]:
    """One gap summary per ``revealed`` source (each judge model) among mixed scores; none without cards."""
    sources = split_by_source(scores)
    cards = [s for (scorer, _), rows in sources.items() if scorer == stated for s in rows]
    if not cards:
        return []
    return [
        gap_summary(
            cards,
            rows,
            scales=scales,
            moves=moves,
            axes=axes,
            delegations=delegations,
            n_boot=n_boot,
            seed=seed,
        )
        for (scorer, _), rows in sources.items()
        if scorer == revealed
    ]


def gap_rows(gap: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A gap summary's JSON flattened for CSV, like :func:`~evals.metrics.summary.summary_rows`: kind
    ``stated_gap``, key = the delegation; one row for the mean (with its interval) and one per move."""
    rows: list[dict[str, Any]] = []
    for axis, per_delegation in gap["axes"].items():
        for deleg, fig in per_delegation.items():
            mean = fig["mean"]
            base = {"axis": axis, "kind": "stated_gap", "key": deleg}
            rows.append(
                {**base, "move": "", "value": mean["estimate"], "low": mean["low"], "high": mean["high"]}
            )
            rows += [{**base, "move": m, "value": v} for m, v in fig["moves"].items()]
    return rows
