"""The stated scorer (position cards), the scorer registry and the scores file format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evals.scorers import build_scorer, scorer_names
from evals.scorers.base import Scorer
from evals.scores_io import find_score_files, read_scores, scores_path, write_scores
from harness.errors import ConfigError, DataError
from harness.schema import AxisScore, Rubric
from harness.transcript import Run

from .conftest import EXERCISE, card


def test_stated_reads_the_cards(run_folder: Callable[..., Path], rubrics: dict[str, Rubric]) -> None:
    cards = [
        card(
            "m1",
            "ROK",
            {"neo": 0, "china_messaging": 4},
            answer="No SDF in the evacuation of foreign nationals.",
        ),
        card("m1", "JPN", {"neo": 4, "china_messaging": None}),
    ]
    run = Run.load(run_folder(EXERCISE, cards=cards))
    scores = {(s.delegation, s.axis): s for s in build_scorer("stated").score_run(run, rubrics)}
    assert len(scores) == 4  # one per card and axis; no card, no score
    rok = scores[("ROK", "neo")]
    assert rok.level == 0 and rok.dist == [1, 0, 0, 0, 0] and rok.scorer == "stated"
    assert rok.evidence[0].utterance_id == "m1/card/ROK" and rok.evidence[0].quote == "Our neo position is 0."
    assert rok.salience == 2  # the stance and an answer speak to NEO
    assert scores[("ROK", "china_messaging")].salience == 1  # only the stance does
    jpn = scores[("JPN", "china_messaging")]
    assert jpn.level is None and jpn.dist is None  # the card leaves the axis open: missing, not 0


def test_registry() -> None:
    assert scorer_names()[:3] == ["rules", "stated", "judge"]
    assert isinstance(build_scorer("rules"), Scorer)
    with pytest.raises(ConfigError, match="unknown scorer"):
        build_scorer("oracle")


def test_scores_round_trip(tmp_path: Path) -> None:
    scores = [
        AxisScore(
            run_id="r", move="m1", delegation="A", axis="neo", level=2, dist=[0, 0, 1, 0, 0], scorer="rules"
        ),
        AxisScore(run_id="r", move="m1", delegation="B", axis="neo", level=None, scorer="rules"),
    ]
    path = write_scores(scores_path(tmp_path, "rules"), scores)
    assert path == tmp_path / "scores" / "rules.jsonl"
    assert read_scores(path) == scores
    assert find_score_files([tmp_path]) == [path]
    assert find_score_files([tmp_path], "rules") == [path]
    with pytest.raises(DataError, match="no judge scores"):
        find_score_files([tmp_path], "judge")
    write_scores(scores_path(tmp_path, "judge"), scores)
    with pytest.raises(DataError, match="several scorers"):
        find_score_files([tmp_path])


def test_bad_scores_name_file_and_line(tmp_path: Path) -> None:
    good = AxisScore(
        run_id="r", move="m1", delegation="A", axis="neo", level=1, scorer="rules"
    ).model_dump_json()
    p = tmp_path / "scores.jsonl"
    p.write_text(good + "\n" + good.replace('"level":1', '"level":9') + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_scores(p)
    assert info.value.line == 2 and info.value.field == "level"
    p.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(DataError, match="not JSON"):
        read_scores(p)
