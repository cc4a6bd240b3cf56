"""A panel of scripted judges that disagree in known ways: agreement (Krippendorff's alpha between the
members), majority, mean and calibrated mean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evals.calibration import CalibrationFile, fit_model, load_calibration, write_calibration
from evals.scorers.judge import JudgeScorer
from evals.scorers.panel import combine_levels, panel_agreement
from harness.llm.fake import ScriptedModel
from harness.schema import Rubric
from harness.transcript import Run

from .conftest import U
from .scripted_judges import biased

# One move, three delegations, one hand-written statement each; the levels the test assigns them: 0, 1, 2.
TEXTS = {
    "ROK": "Civilian ferries will carry everyone out.",
    "US": "Japanese ships may wait outside Korean waters.",
    "JPN": "MSDF transports may dock at Busan with consent.",
}
TRUTH = {TEXTS["ROK"]: 0, TEXTS["US"]: 1, TEXTS["JPN"]: 2}
TRUE_LEVEL = {"ROK": 0, "US": 1, "JPN": 2}


@pytest.fixture
def run(run_folder: Callable[..., Path]) -> Run:
    return Run.load(run_folder([U("m1", d, f"{d.lower()}-a", t) for d, t in TEXTS.items()]))


def exact(model: str) -> ScriptedModel:
    return ScriptedModel(biased(TRUTH), model=model)


def test_two_judges_that_disagree_in_a_known_way(run: Run, rubrics: dict[str, Rubric]) -> None:
    # "b" says 2 where the truth is 1: units (0, 0), (1, 2), (2, 2) → α = 7/9 (hand-computed in
    # test_reliability: D_o = 4/3, D_e = 6).
    panel = [exact("a"), ScriptedModel(biased(TRUTH, table={1: 2}), model="b")]
    judge = JudgeScorer(panel)
    scores = judge.score_run(run, {"neo": rubrics["neo"]})
    assert {(s.model, s.delegation, s.level) for s in scores} == {
        *(("a", d, lv) for d, lv in TRUE_LEVEL.items()),
        ("b", "ROK", 0),
        ("b", "US", 2),
        ("b", "JPN", 2),
    }
    [agreement] = panel_agreement(judge.members)
    assert agreement.axis == "neo" and agreement.models == ["a", "b"] and agreement.n_units == 3
    assert agreement.alpha == pytest.approx(7 / 9) and agreement.alpha_raw is None
    [same] = panel_agreement(JudgeScorer([exact("a"), exact("c")]).score_run(run, {"neo": rubrics["neo"]}))
    assert same.alpha == pytest.approx(1.0)


def test_majority_and_mean(run: Run, rubrics: dict[str, Rubric]) -> None:
    panel = [exact("a"), ScriptedModel(biased(TRUTH, table={1: 2}), model="b"), exact("c")]
    majority = JudgeScorer(panel, combine="majority").score_run(run, {"neo": rubrics["neo"]})
    assert {(s.delegation, s.level) for s in majority} == set(TRUE_LEVEL.items())
    us = next(s for s in majority if s.delegation == "US")
    assert us.model == "majority:a+b+c" and us.samples == 3
    assert us.dist == pytest.approx([0, 2 / 3, 1 / 3, 0, 0])
    assert us.evidence and all(e.quote == TEXTS["US"] for e in us.evidence)
    two_b = [exact("a"), *(ScriptedModel(biased(TRUTH, table={1: 2}), model=m) for m in ("b", "b2"))]
    mean = JudgeScorer(two_b, combine="mean").score_run(run, {"neo": rubrics["neo"]})
    us = next(s for s in mean if s.delegation == "US")  # levels 1, 2, 2: mean 5/3 → 2
    assert us.level == 2 and us.model == "mean:a+b+b2" and us.dist == pytest.approx([0, 1 / 3, 2 / 3, 0, 0])


def test_combine_levels_rules() -> None:
    assert (
        combine_levels([1, 2], "mean") == 1
    )  # 1.5: a half goes to the level nearest the median (1.5), lower
    assert combine_levels([1, 2, 4], "mean") == 2  # 7/3
    assert combine_levels([1, 3, 3], "majority") == 3
    assert combine_levels([1, 3], "majority") == 1  # a tie: nearest the median, then the lower
    assert combine_levels([None, None, 2], "mean") is None  # more members say "not addressed"
    assert combine_levels([None, 2], "majority") == 2


def test_calibrated_mean_corrects_a_panel_member_one_level_high(
    run: Run, rubrics: dict[str, Rubric], tmp_path: Path
) -> None:
    # "b" and "b2" always say one level higher; their fitted map (1→0, 2→1, 3→2) brings them back.
    plus_one = fit_model([(g, min(g + 1, 4)) for g in range(5) for _ in range(3)], min_support=1)
    identity = fit_model([(g, g) for g in range(5)], min_support=1)
    data = CalibrationFile(
        min_support=1,
        gold="train.jsonl",
        gold_name="gold",
        split="train",
        gold_sha256="0" * 64,
        samples=1,
        created="2026-01-01T00:00:00+00:00",
        harness_version="test",
        models={"a": identity, "b": plus_one, "b2": plus_one},
    )
    calibration = load_calibration(write_calibration(tmp_path / "calibration.json", data))
    neo = {"neo": rubrics["neo"]}

    def panel() -> list[ScriptedModel]:
        return [exact("a"), *(ScriptedModel(biased(TRUTH, shift=1), model=m) for m in ("b", "b2"))]

    raw = JudgeScorer(panel(), combine="mean").score_run(run, neo)
    assert {(s.delegation, s.level) for s in raw} == {("ROK", 1), ("US", 2), ("JPN", 3)}  # 2/3, 5/3, 8/3
    judge = JudgeScorer(panel(), combine="mean", calibration=calibration)
    cal = judge.score_run(run, neo)
    assert {(s.delegation, s.level, s.raw_level) for s in cal} == {("ROK", 0, 1), ("US", 1, 2), ("JPN", 2, 3)}
    assert {s.calibration for s in cal} == {calibration.id}
    [agreement] = panel_agreement(judge.members)
    assert agreement.alpha == pytest.approx(1.0)  # calibrated, the members agree exactly …
    assert agreement.alpha_raw is not None and agreement.alpha_raw < 1.0  # … raw, they do not
