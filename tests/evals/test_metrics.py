"""Metrics against hand-computed values (the arithmetic is in the comments).

Delegations are FIN / NOR / SWE on purpose: nothing may assume US, ROK or JPN.
"""

from __future__ import annotations

import pytest

from evals.metrics import (
    cluster_bootstrap,
    concession_index,
    concessions,
    divergence_summary,
    divergence_trend,
    level_distributions,
    mean_or_none,
    pairwise_distances,
    pairwise_wasserstein,
    prior_deviation,
    slope,
    split_by_source,
    stated_revealed_gap,
    summary_rows,
    trend_of,
    wasserstein1,
)
from harness.errors import HarnessError
from harness.schema import AxisScore


def s(run: str, move: str, deleg: str, level: int | None, axis: str = "a1", scorer: str = "x") -> AxisScore:
    return AxisScore(run_id=run, move=move, delegation=deleg, axis=axis, level=level, scorer=scorer)


#           m1  m2  m3
#   FIN      0   1   1
#   NOR      2   2   -      (None: not addressed)
#   SWE      4   3   2
R1 = [
    s("r1", "m1", "FIN", 0), s("r1", "m1", "NOR", 2), s("r1", "m1", "SWE", 4),
    s("r1", "m2", "FIN", 1), s("r1", "m2", "NOR", 2), s("r1", "m2", "SWE", 3),
    s("r1", "m3", "FIN", 1), s("r1", "m3", "NOR", None), s("r1", "m3", "SWE", 2),
]  # fmt: skip
# a second run, one move:  FIN 0, NOR 3, SWE missing
R2 = [s("r2", "m1", "FIN", 0), s("r2", "m1", "NOR", 3), s("r2", "m1", "SWE", None)]


def test_pairwise_distances_hand_computed() -> None:
    got = {(d.move, d.pair): d.value for d in pairwise_distances(R1)}
    # pairs come from the data, sorted: (FIN,NOR) (FIN,SWE) (NOR,SWE)
    assert got[("m1", ("FIN", "NOR"))] == 0.5  # |0-2|/4
    assert got[("m1", ("FIN", "SWE"))] == 1.0  # |0-4|/4
    assert got[("m1", ("NOR", "SWE"))] == 0.5  # |2-4|/4
    assert got[("m2", ("FIN", "NOR"))] == 0.25  # |1-2|/4
    assert got[("m2", ("FIN", "SWE"))] == 0.5  # |1-3|/4
    assert got[("m2", ("NOR", "SWE"))] == 0.25  # |2-3|/4
    assert got[("m3", ("FIN", "SWE"))] == 0.25  # |1-2|/4
    # NOR not addressed in m3: missing, never 0 or a midpoint
    assert got[("m3", ("FIN", "NOR"))] is None
    assert got[("m3", ("NOR", "SWE"))] is None
    assert len(got) == 9


def test_trend_slopes_hand_computed() -> None:
    trends = {t.pair: t.slope for t in divergence_trend(pairwise_distances(R1))}
    # FIN–SWE: y = 1.0, 0.5, 0.25 at x = 0, 1, 2; x̄ = 1, ȳ = 7/12
    # Σ(x−x̄)(y−ȳ) = (−1)(5/12) + 0 + (1)(−4/12) = −9/12 = −0.75; Σ(x−x̄)² = 2 → slope −0.375
    assert trends[("FIN", "SWE")] == pytest.approx(-0.375)
    # FIN–NOR: (0, 0.5), (1, 0.25), m3 missing → slope −0.25
    assert trends[("FIN", "NOR")] == pytest.approx(-0.25)
    # mean over pairs per move: m1 (0.5+1+0.5)/3 = 2/3, m2 (0.25+0.5+0.25)/3 = 1/3, m3 0.25 (only FIN–SWE)
    # ȳ = 5/12; Σ = (−1)(2/3 − 5/12) + (1)(1/4 − 5/12) = −1/4 − 1/6 = −5/12; / 2 → −5/24
    assert trends[None] == pytest.approx(-5 / 24)
    assert slope([None, 0.3]) is None  # one point: no trend


def test_concessions_hand_computed() -> None:
    got = {(c.from_move, c.mover, c.toward): c.value for c in concessions(R1)}
    # value = (|x_i(t) − x_j(t)| − |x_i(t+1) − x_j(t)|) / 4
    assert got[("m1", "FIN", "NOR")] == 0.25  # (|0−2| − |1−2|)/4 = (2−1)/4
    assert got[("m1", "FIN", "SWE")] == 0.25  # (|0−4| − |1−4|)/4 = (4−3)/4
    assert got[("m1", "NOR", "FIN")] == 0.0  # NOR stayed at 2
    assert got[("m1", "SWE", "FIN")] == 0.25  # (|4−0| − |3−0|)/4
    assert got[("m1", "SWE", "NOR")] == 0.25  # (|4−2| − |3−2|)/4
    assert got[("m2", "SWE", "FIN")] == 0.25  # (|3−1| − |2−1|)/4
    assert got[("m2", "FIN", "SWE")] == 0.0  # FIN stayed at 1: (|1−3| − |1−3|)/4
    assert got[("m2", "NOR", "SWE")] is None  # NOR missing in m3
    index = concession_index(concessions(R1))
    assert index[("a1", "FIN", "NOR")] == pytest.approx(0.125)  # mean(0.25, 0.0)
    assert index[("a1", "SWE", "NOR")] == pytest.approx(0.25)  # mean(0.25, 0.25)
    assert index[("a1", "NOR", "FIN")] == pytest.approx(0.0)  # mean(0.0) — the None is skipped


def test_stated_vs_revealed_gap() -> None:
    stated = [s("r1", "m1", "FIN", 1, scorer="stated"), s("r1", "m3", "NOR", 3, scorer="stated")]
    gaps = {(g.move, g.delegation): g for g in stated_revealed_gap(stated, R1)}
    assert gaps[("m1", "FIN")].gap == 0.25  # (1 − 0)/4: says more than it shows
    assert gaps[("m3", "NOR")].gap is None  # revealed level missing
    assert gaps[("m2", "SWE")].stated is None and gaps[("m2", "SWE")].gap is None


def test_prior_deviation() -> None:
    devs = {
        (d.move, d.delegation): d.deviation for d in prior_deviation(R1, {"FIN": {"a1": 0}, "SWE": {"a1": 4}})
    }
    assert devs[("m2", "FIN")] == 0.25  # (1 − 0)/4
    assert devs[("m3", "SWE")] == -0.5  # (2 − 4)/4
    assert devs[("m1", "NOR")] is None  # no prior given


def test_level_distributions_and_wasserstein() -> None:
    dists = level_distributions(R1 + R2)
    fin, nor, swe = dists[("a1", "FIN")], dists[("a1", "NOR")], dists[("a1", "SWE")]
    assert fin.counts == (2, 2, 0, 0, 0) and fin.missing == 0  # 0, 1, 1 (r1) + 0 (r2)
    assert nor.counts == (0, 0, 2, 1, 0) and nor.missing == 1  # 2, 2, None (r1) + 3 (r2)
    assert swe.probs == pytest.approx([0, 0, 1 / 3, 1 / 3, 1 / 3]) and swe.missing == 1
    w1 = pairwise_wasserstein(dists)
    # CDFs FIN [.5, 1, 1, 1], SWE [0, 0, 1/3, 2/3]: Σ|ΔF| = .5 + 1 + 2/3 + 1/3 = 2.5 (= mean 3 − mean 0.5)
    assert w1[("a1", ("FIN", "SWE"))] == pytest.approx(2.5)
    # FIN vs NOR: mean NOR = (2·2 + 3)/3 = 7/3, FIN below NOR everywhere → 7/3 − 1/2 = 11/6
    assert w1[("a1", ("FIN", "NOR"))] == pytest.approx(11 / 6)
    assert wasserstein1([0, 0, 1, 0, 0], [0, 0, 1, 0, 0]) == 0.0
    assert wasserstein1([1, 0, 0, 0, 0], [0, 0, 0, 0, 1]) == 4.0


def test_cluster_bootstrap() -> None:
    clusters = {"r1": [0.5, 0.5], "r2": [0.5], "r3": [0.5, 0.5, 0.5]}
    iv = cluster_bootstrap(clusters, mean_or_none, n_boot=200, seed=1)
    assert (iv.estimate, iv.low, iv.high, iv.n_clusters) == (0.5, 0.5, 0.5, 3)  # no spread → degenerate CI
    spread = {"r1": [0.0], "r2": [1.0], "r3": [0.5], "r4": [0.25]}
    a = cluster_bootstrap(spread, mean_or_none, n_boot=300, seed=7)
    b = cluster_bootstrap(spread, mean_or_none, n_boot=300, seed=7)
    assert a == b  # seeded
    assert a.estimate == pytest.approx(0.4375)  # (0 + 1 + 0.5 + 0.25)/4
    assert a.low is not None and a.high is not None and a.estimate is not None
    assert 0.0 <= a.low < a.estimate < a.high <= 1.0
    single = cluster_bootstrap({"r1": [0.3]}, mean_or_none)
    assert single.low is None and single.high is None and single.estimate == 0.3


def test_unit_scored_twice_is_refused() -> None:
    with pytest.raises(HarnessError, match="scored twice"):
        pairwise_distances([s("r1", "m1", "FIN", 0), s("r1", "m1", "FIN", 1)])
    two = split_by_source([s("r1", "m1", "FIN", 0, scorer="a"), s("r1", "m1", "FIN", 1, scorer="b")])
    assert set(two) == {("a", None), ("b", None)}


def test_divergence_summary_shape() -> None:
    summary = divergence_summary(R1 + R2, n_boot=50, seed=0)
    a1 = summary["axes"]["a1"]
    assert summary["runs"] == ["r1", "r2"]
    assert a1["moves"] == ["m1", "m2", "m3"]
    assert a1["pairs"] == ["FIN–NOR", "FIN–SWE", "NOR–SWE"]
    # m1 FIN–NOR over runs: r1 0.5, r2 |0−3|/4 = 0.75 → mean 0.625
    assert a1["distance"]["FIN–NOR"]["m1"] == pytest.approx(0.625)
    assert a1["distance"]["NOR–SWE"]["m3"] is None
    assert a1["wasserstein"]["FIN–SWE"]["estimate"] == pytest.approx(2.5)
    # widest: FIN–SWE in m1, |0 − 4|/4 = 1.0 (r2 has no SWE score, so one run)
    assert a1["widest"] == {
        "pair": "FIN–SWE", "move": "m1", "value": 1.0, "level_a": 0.0, "level_b": 4.0, "n_runs": 1
    }  # fmt: skip
    # mean distance over pairs per move: m1 (0.625 + 1 + 0.5)/3 = 0.7083, m2 (0.25 + 0.5 + 0.25)/3 = 0.3333,
    # m3 0.25 (one pair) → LS slope −0.2292 a move, fitted change over m1..m3 = −0.4583 → narrowed
    trend = a1["trend_label"]
    assert trend["label"] == "narrowed" and trend["change"] == pytest.approx(-0.458333, abs=1e-5)
    assert a1["trend"]["mean"] == pytest.approx(-0.229167, abs=1e-5)
    assert (trend["first_move"], trend["last_move"]) == ("m1", "m3")
    # FIN's levels: r1 0, 1, 1 and r2 0 → 2/4
    assert a1["level_mean"]["FIN"]["estimate"] == pytest.approx(0.5)
    assert a1["scale"] == [0, 1, 2, 3, 4]
    rows = summary_rows(summary)
    kinds = {"distance", "distance_mean", "wasserstein", "level_mean", "trend", "trend_label", "widest"}
    assert {r["kind"] for r in rows} == kinds | {"concession"}


def test_trend_labels_and_the_scale_from_the_rubric() -> None:
    assert trend_of(["m1", "m2"], [0.2, 0.2]).label == "held steady"
    assert trend_of(["m1", "m2"], [0.2, 0.26]).label == "widened"
    assert trend_of(["m1", "m2", "m3"], [None, 0.5, None]).label == "one move scored"
    assert trend_of(["m1"], [None]).label == "no pair scored"
    # on a 0..2 scale the same level gap is twice as wide
    wide = divergence_summary(R1[:3], scales={"a1": (0, 1, 2, 3, 4)})["axes"]["a1"]["distance"]
    assert wide["FIN–NOR"]["m1"] == pytest.approx(0.5)
    r = [s("r", "m1", "A", 0), s("r", "m1", "B", 2)]
    narrow = divergence_summary(r, scales={"a1": (0, 1, 2)})["axes"]["a1"]
    assert narrow["distance"]["A–B"]["m1"] == pytest.approx(1.0) and narrow["scale"] == [0, 1, 2]
