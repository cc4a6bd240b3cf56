"""Whole records: a unit (move × delegation × axis) is scored over all its statements.

Records of real exercises hold many statements per delegation and move, most of them off the axis. One
clear statement of a position must be enough to score the cell, stray words elsewhere must not move it,
and salience says how central the axis was. The records below are HAND-WRITTEN FIXTURES (from the rubric
concepts), imported with ``evals.importers`` exactly as ``harness import`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.importers import import_record
from evals.rubrics import load_rubrics
from evals.scorers import build_scorer
from evals.scorers.base import Scorer
from evals.scorers.minilm import available
from evals.scorers.rules import RuleResult, aggregate
from harness.schema import AxisScore, Rubric
from harness.transcript import Run

OFF_TOPIC = [
    "Good morning, and thank you to our hosts for convening us at such short notice.",
    "The artillery fire on the northern suburbs has intensified since midnight.",
    "Our hospitals report several hundred casualties, most of them civilians near the border.",
    "The markets in Seoul opened sharply lower and the won has fallen against the dollar.",
    "We have asked the United Nations Command to convene the Military Armistice Commission.",
    "Our ministers will brief the National Assembly this afternoon on the shelling.",
    "The subway and the railways are still running, and shelters are open across the city.",
]
CLEAR_NEO = (
    "On the evacuation, Japanese transport ships may dock at Busan with our explicit consent and under "
    "Korean control, carrying no troops ashore."
)


def _record(tmp_path: Path, rok_lines: list[str]) -> Run:
    lines = ["# Record of a tabletop exercise (hand-written fixture)", "", "## Move 1: Shelling of Seoul", ""]
    lines.append("Control: Artillery is falling on Seoul; some 38,000 Japanese nationals are in the ROK.")
    lines += [f"Kim Min-ji (ROK): {text}" for text in rok_lines]
    lines.append("Sato Ken (JPN): The Senkaku patrols continue as usual; nothing extra goes south.")
    src = tmp_path / "record.md"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Run.load(import_record(src, tmp_path / "runs", run_id="rec"))


@pytest.fixture(scope="module")
def rubrics() -> dict[str, Rubric]:
    return load_rubrics()  # the shipped rubrics: all three axes


def _unit(scores: list[AxisScore], delegation: str, axis: str) -> AxisScore:
    [score] = [s for s in scores if s.move == "m1" and s.delegation == delegation and s.axis == axis]
    return score


OFFLINE_SCORERS = ["rules", "offline"] + (["embed"] if available() else [])


@pytest.mark.parametrize("name", OFFLINE_SCORERS)
def test_one_clear_statement_among_many_off_topic_ones_scores_the_cell(
    name: str, tmp_path: Path, rubrics: dict[str, Rubric]
) -> None:
    run = _record(tmp_path, [*OFF_TOPIC[:4], CLEAR_NEO, *OFF_TOPIC[4:]])
    scorer: Scorer = build_scorer(name)
    scores = scorer.score_run(run, rubrics)
    neo = _unit(scores, "ROK", "neo")
    assert neo.level == 2  # the clear statement's level: SDF ships at an ROK port, with consent
    assert neo.salience == 1  # addressed, but in one statement of eight
    assert neo.evidence and neo.evidence[0].quote in CLEAR_NEO  # the strongest evidence is the clear one
    if name != "embed":  # where the codebook decides, nothing else is cited
        assert all(e.quote in CLEAR_NEO for e in neo.evidence)
    china = _unit(scores, "ROK", "china_messaging")
    assert china.level is None and china.salience == 0  # nobody said anything about Beijing


def test_stray_words_in_other_statements_do_not_move_the_level(
    tmp_path: Path, rubrics: dict[str, Rubric]
) -> None:
    # each touches the evacuation with a weak cue for level 0 (a ferry, an airline) short of a position;
    # added up over a long record they would outvote the one clear statement
    stray = [
        "Our citizens are calm, though the ferry terminals are crowded.",
        "Foreign nationals are queuing at the ferry piers in Incheon.",
        "Evacuees say the airline counters at Gimpo are overwhelmed.",
    ]
    run = _record(tmp_path, [*stray * 3, CLEAR_NEO, *stray * 3])
    neo = _unit(build_scorer("rules").score_run(run, rubrics), "ROK", "neo")
    assert neo.level == 2 and neo.dist is not None and neo.dist[0] == 0
    assert neo.salience == 2  # most statements touch the evacuation: the axis was central


def test_salience_is_the_share_of_statements_on_the_axis(tmp_path: Path, rubrics: dict[str, Rubric]) -> None:
    run = _record(tmp_path, [CLEAR_NEO, OFF_TOPIC[0]])
    scores = build_scorer("rules").score_run(run, rubrics)
    assert _unit(scores, "ROK", "neo").salience == 2  # one of two statements
    jpn = _unit(scores, "JPN", "territorial")
    assert jpn.level == 1 and jpn.salience == 2  # routine ECS patrols kept, nothing extra


def _statement(tally: list[float]) -> RuleResult:
    level = max(range(5), key=lambda lv: tally[lv]) if any(tally) else None
    return RuleResult(level=level, dist=None, salience=2, tally=tally, addressed=True, live=True)


def test_aggregate_adds_the_votes_of_statements_that_state_a_position() -> None:
    two_for_one = [_statement([0, 2, 0, 0, 0]), _statement([0, 2, 0, 0, 0]), _statement([0, 0, 0, 3, 0])]
    silent = RuleResult(level=None, dist=None, salience=0, addressed=False)
    unit = aggregate([*two_for_one, silent, silent])
    assert unit.level == 1 and unit.dist == pytest.approx([0, 4 / 7, 0, 3 / 7, 0])
    assert unit.salience == 2  # three of five statements
    assert aggregate([silent, silent]).level is None and aggregate([silent]).salience == 0
