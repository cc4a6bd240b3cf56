"""Judge calibration: the monotone map, fitted from a scripted judge whose bias is known, corrects it on
held-out rows (hand-made gold files; figures computed by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.calibration import (
    CalibrationFile,
    calibrate_models,
    fit_map,
    fit_model,
    load_calibration,
    write_calibration,
)
from evals.reliability import validate_scorer
from evals.scorers.judge import JudgeScorer
from harness.errors import ConfigError, DataError
from harness.llm.fake import FakeCall, ScriptedModel
from harness.schema import LEVELS, Rubric

from .scripted_judges import biased, gold_rows, truth_of, write_gold

# train: three statements at each level and two that take no position; dev (held out): two and two.
TRAIN = gold_rows("train", {0: 3, 1: 3, 2: 3, 3: 3, 4: 3, None: 2})
DEV = gold_rows("dev", {0: 2, 1: 2, 2: 2, 3: 2, 4: 2, None: 2})
TRUTH = truth_of(TRAIN, DEV)


def test_fit_map_of_a_judge_one_level_high() -> None:
    # (gold, raw): the judge says gold + 1, capped at 4. Raw 1, 2, 3 each stand for one gold level; raw 4
    # pools gold 3 and 4 (three each): both are medians and 4 is nearest the raw level. Raw 0 is never
    # said: it keeps its level, clamped under c(1) = 0.
    pairs = [(g, min(g + 1, 4)) for g in LEVELS for _ in range(3)]
    assert fit_map(pairs) == {0: 0, 1: 0, 2: 1, 3: 2, 4: 4}


def test_fit_map_pools_adjacent_violators() -> None:
    # raw 1 stands for gold 2, raw 2 for gold 1: pooled, median 1 or 2; the pool's raw level is 1 → 1.
    pairs = [(2, 1)] * 3 + [(1, 2)] * 3
    assert fit_map(pairs) == {0: 0, 1: 1, 2: 1, 3: 3, 4: 4}


def test_fit_map_leaves_thin_levels_alone() -> None:
    pairs = [(1, 1)] * 3 + [(0, 3)] + [(4, 4)] * 3
    assert fit_map(pairs, min_support=1)[3] == 1  # one row pulls raw 3 down to c(1) = 1 … not monotone-
    assert fit_map(pairs, min_support=2) == {0: 0, 1: 1, 2: 2, 3: 3, 4: 4}  # … unless it is too thin


@settings(deadline=None, derandomize=True)  # no timing, the same examples every run
@given(st.lists(st.tuples(st.sampled_from(LEVELS), st.sampled_from(LEVELS)), max_size=40))
def test_fit_map_is_always_a_monotone_map_of_levels(pairs: list[tuple[int, int]]) -> None:
    mapping = fit_map(pairs)
    assert sorted(mapping) == list(LEVELS) and set(mapping.values()) <= set(LEVELS)
    assert [mapping[r] for r in LEVELS] == sorted(mapping.values())


def test_calibration_corrects_a_judge_one_level_high_on_held_out_rows(
    tmp_path: Path, rubrics: dict[str, Rubric]
) -> None:
    train, dev = (
        write_gold(tmp_path / "gold" / "train.jsonl", TRAIN),
        write_gold(tmp_path / "gold" / "dev.jsonl", DEV),
    )
    neo = {"neo": rubrics["neo"]}
    model = ScriptedModel(biased(TRUTH, shift=+1), model="plus-one")
    fitted = calibrate_models(train, [model], neo, min_support=3)
    assert (fitted.gold_name, fitted.split, fitted.samples) == ("gold", "train", 1)
    m = fitted.models["plus-one"]
    assert m.mapping == {0: 0, 1: 0, 2: 1, 3: 2, 4: 4}
    assert m.support == {0: 0, 1: 3, 2: 3, 3: 3, 4: 6} and (m.n_rows, m.n_pairs) == (17, 15)
    assert m.confusion["matrix"][0][1] == 3  # gold 0 → raw 1
    path = write_calibration(tmp_path / "calibration.json", fitted)
    calibration = load_calibration(path)

    raw = validate_scorer(dev, JudgeScorer([model]), neo)["overall"]
    cal_judge = JudgeScorer([model], calibration=calibration)
    cal = validate_scorer(dev, cal_judge, neo)["overall"]
    # dev: gold 0,0,1,1,2,2,3,3,4,4 and two "not addressed". Raw: 1,1,2,2,3,3,4,4,4,4 → right on the two
    # 4s and the two NAs = 4/12; mean error (8 × +1)/10. Calibrated: 0,0,1,1,2,2,4,4,4,4 → wrong on the
    # two 3s only = 10/12; mean error (2 × +1)/10.
    assert raw["exact_accuracy"] == pytest.approx(4 / 12) and cal["exact_accuracy"] == pytest.approx(10 / 12)
    assert raw["mean_signed_error"] == pytest.approx(0.8) and cal["mean_signed_error"] == pytest.approx(0.2)
    assert raw["coverage"] == cal["coverage"] == 1.0 and raw["na_accuracy"] == cal["na_accuracy"] == 1.0
    assert cal["kappa"] > raw["kappa"]
    # the scores and the notes say which calibration was applied, and the raw and calibrated levels
    three = [s for s in cal_judge.members if s.run_id.startswith("gold-dev-neo-2-")]
    assert {(s.raw_level, s.level, s.calibration) for s in three} == {(3, 2, calibration.id)}
    assert calibration.id == f"calibration.json@{calibration.sha256[:12]}"
    notes = [n for n in cal_judge.notes if n.run_id == "gold-dev-neo-2-0"]
    assert [(n.level, n.calibrated_level, n.calibration) for n in notes] == [(3, 2, calibration.id)]


def test_calibration_maps_every_sample_before_aggregation(tmp_path: Path, rubrics: dict[str, Rubric]) -> None:
    # k = 3 samples say 1, 2, 2: raw mode 2 (dist at 1 and 2); with the map 1→0, 2→1 the calibrated
    # distribution is the raw one pushed through it.
    row = gold_rows("k", {2: 1})
    gold = write_gold(tmp_path / "k.jsonl", row)
    text = row[0]["text"]
    shifts = {0: -1, 1: 0, 2: 0}

    def respond(call: FakeCall) -> dict[str, Any]:
        return biased({text: 2}, shift=shifts[call.sample])(call)

    fitted = CalibrationFile.model_validate(
        {
            **_header(),
            "models": {"m": fit_model([(0, 1), (1, 2), (2, 3), (3, 4), (4, 4)], min_support=1).model_dump()},
        }
    )
    calibration = load_calibration(write_calibration(tmp_path / "c.json", fitted))
    assert calibration.for_model("m").mapping == {0: 0, 1: 0, 2: 1, 3: 2, 4: 4}
    judge = JudgeScorer([ScriptedModel(respond, model="m")], samples=3, calibration=calibration)
    validate_scorer(gold, judge, {"neo": rubrics["neo"]})
    [score] = judge.members
    assert score.raw_level == 2 and score.level == 1
    assert score.dist == pytest.approx([1 / 3, 2 / 3, 0, 0, 0])


def _header() -> dict[str, object]:
    return {
        "min_support": 1,
        "gold": "g.jsonl",
        "gold_name": "gold",
        "split": "train",
        "gold_sha256": "0" * 64,
        "samples": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "harness_version": "test",
    }


def test_a_calibration_file_must_be_monotone_and_name_the_model(tmp_path: Path) -> None:
    bad = {
        **_header(),
        "models": {"m": {**fit_model([]).model_dump(), "mapping": {0: 2, 1: 1, 2: 2, 3: 3, 4: 4}}},
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(DataError, match="monotone"):
        load_calibration(path)
    good = write_calibration(
        tmp_path / "good.json", CalibrationFile.model_validate({**_header(), "models": {}})
    )
    with pytest.raises(ConfigError, match="no calibration for judge model 'other'"):
        JudgeScorer([ScriptedModel(model="other")], calibration=load_calibration(good))
