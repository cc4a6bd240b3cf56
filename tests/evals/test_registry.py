"""The scorer registry: a fourth scorer is one class plus one registration, and then the CLI, the batch
spec and the batch worker all accept it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from evals.scorers import ScorerInfo, ScorerSettings, register, scorer_names, unregister
from evals.scorers.base import unit_utterances
from evals.scores_io import read_scores, scores_path
from harness.batch.spec import Experiment, ScoringSpec
from harness.batch.worker import score_folder
from harness.cli import main
from harness.errors import DataError
from harness.schema import AxisScore, Rubric
from harness.transcript import Run

from .conftest import EXERCISE


class MidpointScorer:
    """A test scorer with a known answer: every unit that spoke is at level 2."""

    name = "midpoint"

    @classmethod
    def from_settings(cls, settings: ScorerSettings) -> MidpointScorer:
        return cls()

    def score_run(self, run: Run, rubrics: Mapping[str, Rubric]) -> list[AxisScore]:
        return [
            AxisScore(run_id=run.run_id, move=m, delegation=d, axis=axis, level=2, scorer=self.name)
            for (m, d) in unit_utterances(run)
            for axis in rubrics
        ]


@pytest.fixture
def midpoint() -> Iterator[str]:
    register(ScorerInfo("midpoint", MidpointScorer.from_settings, "every unit at level 2"))  # the one line
    yield "midpoint"
    unregister("midpoint")


def test_a_registered_scorer_is_scored_by_the_cli(midpoint: str, run_folder: Callable[..., Path]) -> None:
    folder = run_folder(EXERCISE)
    assert midpoint in scorer_names()
    assert main(["score", str(folder), "--scorer", midpoint]) == 0
    scores = read_scores(scores_path(folder, midpoint))
    assert scores and {s.level for s in scores} == {2} and {s.scorer for s in scores} == {midpoint}


def test_the_batch_spec_and_worker_accept_it(midpoint: str, run_folder: Callable[..., Path]) -> None:
    folder = run_folder(EXERCISE)
    spec = ScoringSpec(scorers=["rules", midpoint])
    score_folder(folder, spec)
    assert {s.level for s in read_scores(scores_path(folder, midpoint))} == {2}
    assert read_scores(scores_path(folder, "rules"))
    fields = Experiment.model_json_schema()["$defs"]["ScoringSpec"]["properties"]["scorers"]
    assert fields["items"]["type"] == "string"  # names are checked against the registry, not a fixed list


def test_unknown_or_unregistered_names_are_refused(
    tmp_path: Path, run_folder: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", str(run_folder(EXERCISE)), "--scorer", "midpoint"]) == 2
    assert "unknown scorer 'midpoint': choose one of rules, stated, judge" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown scorer 'midpoint'"):
        ScoringSpec(scorers=["midpoint"])
    exp = tmp_path / "e.yaml"
    exp.write_text(
        "id: e\nscenarios: [../nowhere.yaml]\nbackends: [{name: b}]\nscoring: {scorers: [rules, oracle]}\n"
    )
    from harness.batch.spec import load_experiment

    with pytest.raises(DataError, match=r"scoring\.scorers\[1\]: unknown scorer 'oracle'"):
        load_experiment(exp)
