"""Fidelity to the human exercise: is each expected finding reproduced, and how far from the priors?

A finding (:class:`~harness.schema.ExpectedFinding`) becomes a **margin** over a set of scores — positive
when the finding holds:

* ``widest_pair``: the pair's mean distance minus the largest other pair's (distance units, 0–1);
* ``gap``: mean level(a) − mean level(b) − ``at_least`` (levels; holds at ≥ 0);
* ``highest`` / ``lowest``: the delegation's mean level minus the highest other's (the lowest other's
  minus the delegation's) (levels).

Means are over the moves checked (all moves played, or the finding's ``moves``); over several runs, each
run's means are averaged (runs weigh alike). Each run is scored on its own (it holds, it does not, or it
is undetermined when a delegation was never scored there); across runs, the **share of runs** in which it
holds carries a cluster-bootstrap CI, and the finding is *reproduced* when that CI lies above one half
(most runs reproduce it), *not reproduced* when it lies below, and *undetermined* otherwise. When every
run agrees the bootstrap interval is a point, so the rule of three bounds it (:func:`unanimous_bound`):
a finding held in all of n runs is reproduced from n = 7 on, and one run never settles a finding (its
outcome still shows in the count of runs holding). The pooled margin carries its own CI (runs
resampled), to say by how much.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals.metrics.across import BOOT_SEED, N_BOOT, Interval, cluster_bootstrap
from evals.metrics.divergence import prior_deviation
from evals.metrics.table import Scale, ScoreTable, max_gap, mean_or_none
from harness.schema import AxisScore, ExpectedFinding

MAJORITY = 0.5
STRICT = {"widest_pair": True, "gap": False, "highest": True, "lowest": True}
UNIT = {"widest_pair": "distance", "gap": "levels", "highest": "levels", "lowest": "levels"}


Profile = dict[tuple[str, ...], float]
"""One run's means on a finding's axis and moves: ``("level", d)`` and ``("distance", a, b)``."""


def run_profile(
    scores: Sequence[AxisScore], finding: ExpectedFinding, scales: Mapping[str, Scale] | None = None
) -> Profile:
    """The means a finding is checked on, for one run's scores."""
    t = ScoreTable(scores, scales)
    axis, moves = finding.axis, finding.moves
    width = max_gap(t.scale(axis))
    out: Profile = {}
    for d in t.all_delegations():
        m = mean_or_none(
            t.level(r, mv, axis, d) for r in t.runs for mv in t.moves[r] if not moves or mv in moves
        )
        if m is not None:
            out[("level", d)] = m
    for a, b in t.all_pairs():
        values = []
        for r in t.runs:
            for mv in t.moves[r]:
                x, y = t.level(r, mv, axis, a), t.level(r, mv, axis, b)
                if (not moves or mv in moves) and x is not None and y is not None:
                    values.append(abs(x - y) / width)
        m = mean_or_none(values)
        if m is not None:
            out[("distance", a, b)] = m
    return out


def margin_of(profiles: Sequence[Profile], finding: ExpectedFinding) -> float | None:
    """The finding's margin over runs: each mean averaged over the runs that have it (runs weigh alike)."""
    keys = list(dict.fromkeys(k for p in profiles for k in p))
    mean = {k: sum(p[k] for p in profiles if k in p) / sum(1 for p in profiles if k in p) for k in keys}
    if finding.kind == "widest_pair":
        a, b = sorted(finding.pair)
        target = mean.get(("distance", a, b))
        others = [v for k, v in mean.items() if k[0] == "distance" and k != ("distance", a, b)]
        return None if target is None or not others else target - max(others)
    levels = {k[1]: v for k, v in mean.items() if k[0] == "level"}
    if finding.kind == "gap":
        if finding.a not in levels or finding.b not in levels:
            return None
        return levels[finding.a] - levels[finding.b] - finding.at_least
    d = finding.delegation
    others = [v for k, v in levels.items() if k != d]
    if d not in levels or not others:
        return None
    return levels[d] - max(others) if finding.kind == "highest" else min(others) - levels[d]


def finding_margin(
    scores: Sequence[AxisScore], finding: ExpectedFinding, scales: Mapping[str, Scale] | None = None
) -> float | None:
    """The finding's margin over these scores (one run or several; see the module doc)."""
    by_run: dict[str, list[AxisScore]] = {}
    for s in scores:
        by_run.setdefault(s.run_id, []).append(s)
    return margin_of([run_profile(v, finding, scales) for v in by_run.values()], finding)


def holds(finding: ExpectedFinding, margin: float | None) -> bool | None:
    if margin is None:
        return None
    return margin > 1e-9 if STRICT[finding.kind] else margin >= -1e-9


def unanimous_bound(share: Interval) -> Interval:
    """When every run agrees (share 0 or 1) the bootstrap interval collapses to a point; the rule of three
    gives the 95% bound instead: a share of 1 over n runs is [1 − 3/n, 1], a share of 0 is [0, 3/n]."""
    n = share.n_clusters
    if share.estimate not in (0.0, 1.0) or n == 0:
        return share
    bound = min(1.0, 3.0 / n)
    low, high = (1.0 - bound, 1.0) if share.estimate == 1.0 else (0.0, bound)
    return Interval(share.estimate, low, high, n, share.n_boot, share.se, share.p_value)


@dataclass(frozen=True)
class FindingResult:
    finding: ExpectedFinding
    per_run: dict[str, bool | None]
    share: Interval  # share of determined runs in which it holds
    margin: Interval  # pooled margin over runs, resampled by run
    status: str  # reproduced | not reproduced | undetermined

    def as_dict(self) -> dict[str, Any]:
        f = self.finding
        determined = [v for v in self.per_run.values() if v is not None]
        return {
            "id": f.id,
            "statement": f.statement,
            "source": f.source,
            "note": f.note,
            "kind": f.kind,
            "axis": f.axis,
            "status": self.status,
            "runs": len(self.per_run),
            "runs_determined": len(determined),
            "runs_holding": sum(determined),
            "share": self.share.estimate,
            "share_low": self.share.low,
            "share_high": self.share.high,
            "margin": self.margin.estimate,
            "margin_low": self.margin.low,
            "margin_high": self.margin.high,
            "margin_unit": UNIT[f.kind],
        }


def evaluate_finding(
    by_run: Mapping[str, Sequence[AxisScore]],
    finding: ExpectedFinding,
    scales: Mapping[str, Scale] | None = None,
    *,
    majority: float = MAJORITY,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
) -> FindingResult:
    profiles = {r: run_profile(s, finding, scales) for r, s in by_run.items()}
    per_run = {r: holds(finding, margin_of([p], finding)) for r, p in profiles.items()}
    determined = {r: [1.0 if v else 0.0] for r, v in per_run.items() if v is not None}
    share = unanimous_bound(cluster_bootstrap(determined, mean_or_none, n_boot=n_boot, seed=seed))
    margin = cluster_bootstrap(
        {r: [p] for r, p in profiles.items()},
        lambda ps: margin_of(ps, finding),
        n_boot=n_boot,
        seed=seed,
    )
    if share.estimate is None or share.low is None:
        status = "undetermined"
    elif share.low > majority:
        status = "reproduced"
    elif share.high is not None and share.high < majority:
        status = "not reproduced"
    else:
        status = "undetermined"
    return FindingResult(finding, per_run, share, margin, status)


def prior_deviations(
    by_run: Mapping[str, Sequence[AxisScore]],
    priors: Mapping[str, Mapping[str, int]],
    scales: Mapping[str, Scale] | None = None,
    *,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
) -> list[dict[str, Any]]:
    """Per delegation × axis: the mean signed deviation (level − prior) / width over moves and runs, with
    its cluster-bootstrap CI (> 0: above the analyst's prior)."""
    rows = prior_deviation([s for scores in by_run.values() for s in scores], priors, scales)
    keys = list(dict.fromkeys((r.delegation, r.axis) for r in rows if r.prior is not None))
    out: list[dict[str, Any]] = []
    for d, axis in keys:
        clusters = {
            run: [r.deviation for r in rows if r.run_id == run and r.delegation == d and r.axis == axis]
            for run in by_run
        }
        iv = cluster_bootstrap(clusters, mean_or_none, n_boot=n_boot, seed=seed)
        levels = [r.level for r in rows if r.delegation == d and r.axis == axis and r.level is not None]
        out.append(
            {
                "delegation": d,
                "axis": axis,
                "prior": priors[d][axis],
                "mean_level": mean_or_none(levels),
                "deviation": iv.estimate,
                "low": iv.low,
                "high": iv.high,
                "n_runs": sum(1 for v in clusters.values() if any(x is not None for x in v)),
            }
        )
    return out
