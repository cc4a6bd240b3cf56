"""The illustrative records under transcripts/samples/: hand-written, labelled as such at their top and in
their manifest, imported, scored and reported as committed, and the shipped scorers' agreement with their
hand-written gold levels is what transcripts/samples/sources/agreement.json reports (printed here;
reported, not tuned)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.reliability import agreement
from evals.rubrics import load_rubrics
from evals.scorers import build_scorer
from evals.scores_io import read_scores, scores_path
from harness.report import REPORT_NAME
from harness.transcript import Run

SAMPLES = Path(__file__).resolve().parent.parent / "transcripts" / "samples"
SOURCES = SAMPLES / "sources"
RECORDS = ("tsd-illustrative-a", "tsd-illustrative-b")
LABEL = "authored by hand by the project for training and review; not model output"
REPORTED = json.loads((SOURCES / "agreement.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("record", RECORDS)
def test_records_say_what_they_are(record: str) -> None:
    head = (SOURCES / f"{record}.md").read_text(encoding="utf-8")[:600]
    assert "ILLUSTRATIVE RECORD" in head and LABEL in head
    run = Run.load(SAMPLES / record)
    assert run.manifest.source == "import"
    assert run.manifest.description and LABEL in run.manifest.description
    assert LABEL in (SAMPLES / record / REPORT_NAME).read_text(encoding="utf-8")


@pytest.mark.parametrize("record", RECORDS)
@pytest.mark.parametrize("scorer", ["offline", "rules"])
def test_agreement_with_the_hand_written_gold(record: str, scorer: str) -> None:
    run = Run.load(SAMPLES / record)
    committed = read_scores(scores_path(run.folder, scorer))
    fresh = build_scorer(scorer).score_run(run, load_rubrics())
    key = lambda s: (s.move, s.delegation, s.axis)  # noqa: E731
    assert {key(s): s.level for s in fresh} == {key(s): s.level for s in committed}, "run `make samples`"
    levels = {key(s): s.level for s in committed}
    gold = [json.loads(line) for line in (SOURCES / f"{record}.gold.jsonl").read_text().splitlines()]
    rows = [(g["level"], levels.get((g["move"], g["delegation"], g["axis"]))) for g in gold]
    figures = agreement(rows)
    shown = {k: round(figures[k], 3) for k in ("exact_accuracy", "coverage", "na_accuracy", "kappa")}
    print(f"{record} · {scorer} vs the hand-written gold (n={figures['n']}): {shown}")
    assert {"n": figures["n"], **shown} == REPORTED[record][scorer]
