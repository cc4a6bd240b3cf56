"""The one effect definition: difference, interval, p-value, pairing, W1, corrections and power."""

from __future__ import annotations

import pytest

from evals.metrics import (
    adjust_p,
    bootstrap_p_value,
    cluster_bootstrap,
    mean_or_none,
    min_detectable,
    p_floor,
    two_sample_effect,
)
from harness.research.analysis import RunLevels, cell_effects, verdict
from harness.research.spec import SensitivitySpec


def test_paired_effect_with_interval_p_value_and_w1() -> None:
    a = {f"a{i}": [1, 1, 2] for i in range(6)}
    b = {f"b{i}": [3, 3, 4] for i in range(6)}
    pair_of = {**{f"a{i}": f"s{i}" for i in range(6)}, **{f"b{i}": f"s{i}" for i in range(6)}}
    e = two_sample_effect(a, b, pair_of=pair_of, scale=(0, 1, 2, 3, 4), n_boot=500)
    assert e.method == "paired" and e.n_pairs == 6 and (e.n_a, e.n_b) == (6, 6)
    assert e.diff.estimate == pytest.approx(2.0) and e.diff.low == e.diff.high == pytest.approx(2.0)
    assert e.diff.p_value == pytest.approx(p_floor(500)) and e.diff.se == 0
    assert e.w1 is not None and e.w1.estimate == pytest.approx(2.0)


def test_unpaired_effect_resamples_each_side_and_missing_values_are_skipped() -> None:
    a: dict[str, list[float | None]] = {"r1": [0, None], "r2": [1], "r3": [0], "r4": [1]}
    b: dict[str, list[float | None]] = {"q1": [1], "q2": [2], "q3": [1, None], "q4": [2]}
    e = two_sample_effect(a, b, n_boot=400, seed=3)
    assert e.method == "unpaired" and e.n_pairs == 0
    assert e.mean_a == pytest.approx(0.5) and e.mean_b == pytest.approx(1.5)
    assert e.diff.estimate == pytest.approx(1.0)
    assert e.diff.low is not None and e.diff.high is not None and 0 < e.diff.low <= 1.0 <= e.diff.high
    assert e.w1 is None  # no scale given
    # one run a side: a difference, no interval
    one = two_sample_effect({"r1": [0]}, {"q1": [2]})
    assert one.diff.estimate == 2 and one.diff.low is None and one.method == "unpaired"
    none = two_sample_effect({"r1": [None]}, {"q1": [2]})
    assert none.method == "none" and none.diff.estimate is None


def test_a_noisy_null_effect_has_an_interval_around_zero() -> None:
    a = {f"a{i}": [v] for i, v in enumerate([0, 2, 1, 3, 2, 1, 0, 2])}
    b = {f"b{i}": [v] for i, v in enumerate([2, 0, 1, 1, 3, 2, 1, 0])}
    e = two_sample_effect(a, b, n_boot=1000)
    assert e.diff.low is not None and e.diff.high is not None and e.diff.low < 0 < e.diff.high
    assert e.diff.p_value is not None and e.diff.p_value > 0.5


def test_bootstrap_p_value_and_strata() -> None:
    assert bootstrap_p_value([1.0] * 99, 0.0) == pytest.approx(2 / 100)
    assert bootstrap_p_value([0.0] * 99, 0.0) == 1.0
    assert bootstrap_p_value([-1.0, 1.0] * 50, 0.0) == 1.0
    clusters = {"a": [0.0], "b": [1.0], "c": [10.0], "d": [11.0]}
    strata = {"a": "x", "b": "x", "c": "y", "d": "y"}

    def gap(items: list[float]) -> float | None:
        return mean_or_none(items)

    iv = cluster_bootstrap(clusters, gap, strata=strata, n_boot=300, seed=1)
    # every resample keeps two clusters of each stratum: the mean stays within 5..6
    assert iv.low is not None and iv.high is not None and 5.0 <= iv.low < iv.high <= 6.0
    free = cluster_bootstrap(clusters, gap, n_boot=300, seed=1)
    assert free.low is not None and free.high is not None and free.low < 5.0 and free.high > 6.0
    assert cluster_bootstrap({"a": [0.0], "c": [1.0]}, gap, strata={"a": "x", "c": "y"}).low is None


def test_holm_and_benjamini_hochberg_against_hand_computed_values() -> None:
    ps = [0.01, 0.04, None, 0.03, 0.005]
    assert adjust_p(ps, "holm") == pytest.approx([0.03, 0.06, None, 0.06, 0.02])
    assert adjust_p(ps, "bh") == pytest.approx([0.02, 0.04, None, 0.04, 0.02])
    assert adjust_p([None, None]) == [None, None]
    assert adjust_p([0.5, 0.9], "holm") == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="unknown correction"):
        adjust_p([0.1], "bonferroni")  # type: ignore[arg-type]  # not a correction it knows, on purpose


def test_min_detectable_effect() -> None:
    assert min_detectable(1.0) == pytest.approx(1.959964 + 0.841621, rel=1e-5)
    nine, one = min_detectable(0.5, m=9), min_detectable(0.5, m=1)
    assert nine is not None and one is not None and nine > one
    assert min_detectable(None) is None


def _runs(diffs_a: list[int]) -> list[RunLevels]:
    """Paired runs over delegations A, B, C on one axis: A's treatment moves by ``diffs_a``, B's by a little
    noise, C's not at all."""
    runs = []
    for i, d in enumerate(diffs_a):
        runs.append(RunLevels(f"b{i}", "baseline", f"s{i}", {(x, "neo"): [2] for x in "ABC"}))
        noise = (1 if i % 2 else -1) * (i % 3 == 0)
        treated = {("A", "neo"): [2 + d], ("B", "neo"): [2 + noise], ("C", "neo"): [2]}
        runs.append(RunLevels(f"t{i}", "treatment", f"s{i}", treated))
    return runs


WEAK = [1, 1, 1, 0, 0, 1, 0, 1, -1, 1]  # mean +0.5, raw bootstrap p ≈ 0.04
SCALES = {"neo": (0, 1, 2, 3, 4)}


@pytest.mark.parametrize("correction", ["holm", "bh"])
def test_the_correction_decides_and_the_verdict_follows_it(correction: str) -> None:
    """A cell whose raw p-value is under alpha is an effect alone, but not in a family of three."""
    spec = SensitivitySpec(experiment="persona-ablation", n_boot=2000, correction=correction)
    alone = cell_effects(_runs(WEAK), ["A"], ["neo"], SCALES, spec)
    assert alone[0]["p_value"] < 0.05 and alone[0]["p_adjusted"] == alone[0]["p_value"]
    assert alone[0]["significant"] and alone[0]["low"] > 0
    assert verdict(spec, alone, 10, {"mde_median": 0.5})["label"] == "effect"
    family = cell_effects(_runs(WEAK), ["A", "B", "C"], ["neo"], SCALES, spec)
    a = family[0]
    assert a["p_value"] == alone[0]["p_value"] and a["low"] > 0  # the raw interval still excludes 0
    assert a["p_adjusted"] == pytest.approx(3 * a["p_value"]) and not a["significant"]
    assert a["low_simultaneous"] <= 0 <= a["high_simultaneous"]  # the family-wide interval does not
    line = verdict(spec, family, 10, {"mde_median": 0.5})
    assert line["label"] == "no detectable effect"
    assert line["line"].startswith("no detectable effect at 10 runs per condition (smallest detectable")


def _cell(delegation: str, axis: str, mean_a: float, diff: float) -> dict[str, object]:
    return {
        "delegation": delegation,
        "axis": axis,
        "mean_a": mean_a,
        "diff": diff,
        "p_value": 0.001,
        "significant": diff != 0,
    }


def test_a_swap_verdict_names_the_moves_the_swap_does_not_predict() -> None:
    """Only the swapped pair, on axes where they stood apart, can show a swap; a bystander's move or a
    move on a level axis is named, and the verdict says the swap holds only with it."""
    spec = SensitivitySpec(experiment="identity-swap", swap=["US", "JPN"], swap_what="names")
    clean = [
        _cell("US", "neo", 1, +2),  # toward JPN's baseline 3
        _cell("JPN", "neo", 3, -2),  # toward US's baseline 1
        _cell("US", "territorial", 2, 0),
        _cell("JPN", "territorial", 2, 0),
        _cell("ROK", "neo", 2, 0),
    ]
    power = {"mde_median": 0.5}
    assert verdict(spec, clean, 6, power)["label"] == "follows the flag"
    bystander = [*clean[:4], _cell("ROK", "neo", 2, +1)]
    v = verdict(spec, bystander, 6, power)
    assert v["label"] == "follows the flag, with unexplained moves"
    assert "1 cell(s) moved that the swap does not predict (ROK neo +1.00)" in v["line"]
    level_axis = [*clean[:2], _cell("US", "territorial", 2, +2), *clean[3:]]
    v = verdict(spec, level_axis, 6, power)
    assert v["label"] == "follows the flag, with unexplained moves" and "US territorial +2.00" in v["line"]
