"""Trust in the report: each scorer's saved validation (or "not validated"), judge units whose evidence
failed verification shown unscored with the reason, and the stated-vs-revealed gap. All scores, notes and
validation files here are HAND-MADE fixtures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markupsafe import escape

from evals import validation_store
from evals.metrics import gap_summary
from evals.scorers.judge_notes import JudgeNote
from harness.report import build_report
from harness.schema import AxisScore, Evidence
from harness.transcript import Run
from tests.report.conftest import stated_scores, write_scores

REASON = "quote not found verbatim in U1: 'we never said this'"


@pytest.fixture(autouse=True)
def empty_package_validations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package's evals/validation/ replaced by an empty folder (its real content must not matter)."""
    folder = tmp_path / "package-validation"
    folder.mkdir()
    monkeypatch.setattr(validation_store, "package_dir", lambda: folder)
    return folder


def judge_scores(run: Run, model: str = "j", calibration: str | None = None) -> list[AxisScore]:
    """One level below each card's (0 stays 0), citing the delegation's first utterance of the move."""
    rows = []
    for s in stated_scores(run):
        first = next(u for u in run.utterances() if u.move == s.move and u.delegation == s.delegation)
        level = None if s.level is None else max(s.level - 1, 0)
        rows.append(
            s.model_copy(
                update={
                    "scorer": "judge",
                    "model": model,
                    "level": level,
                    "evidence": [Evidence(utterance_id=first.utterance_id, quote=first.text[:40])]
                    if level
                    else [],
                    "calibration": calibration,
                    "raw_level": level if calibration else None,
                }
            )
        )
    return rows


def record(
    split: str, alpha: float, model: str | None = "j", calibration: str | None = None
) -> dict[str, object]:
    return {
        "scorer": "judge",
        "model": model,
        "calibration": calibration,
        "gold": f"evals/gold/{split}.jsonl",
        "gold_name": "gold",
        "split": split,
        "n": 69,
        "exact_accuracy": 0.5,
        "coverage": 0.75,
        "na_accuracy": 0.8,
        "kappa": 0.6,
        "alpha": alpha,
        "mean_signed_error": 0.1,
        "date": "2026-12-01T00:00:00+00:00",
        "harness_version": "0.1.0",
    }


def save(folder: Path, *records: dict[str, object]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "judge.json").write_text(
        json.dumps({"scorer": "judge", "records": list(records)}), encoding="utf-8"
    )


def badges(html: str) -> list[tuple[str, str]]:
    """(class, text) of every trust badge."""
    return re.findall(r'<span class="trust ([a-z-]+)"[^>]*>([^<]*)</span>', html)


def test_every_scorer_says_whether_it_was_validated(scored_run: Run, empty_package_validations: Path) -> None:
    write_scores(scored_run, "judge", judge_scores(scored_run))
    html = build_report([scored_run])
    assert set(badges(html)) == {("not-validated", "not validated")}
    # in the package: found when nothing is beside the run's data
    save(empty_package_validations, record("test", 0.41))
    html = build_report([scored_run])
    assert (
        "validated",
        "α 0.41 · κ 0.60 · exact 0.50 · coverage 0.75 · NA acc 0.80 on gold test (n=69)",
    ) in badges(html)
    assert (
        html.count('class="trust not-validated" title="No saved validation for stated') >= 2
    )  # head + table
    # beside the run's data: wins over the package's, whatever its split
    save(scored_run.folder / "validation", record("dev", 0.63), record("train", 0.9))
    html = build_report([scored_run])
    found = {text for cls, text in badges(html) if cls == "validated"}
    assert found == {"α 0.63 · κ 0.60 · exact 0.50 · coverage 0.75 · NA acc 0.80 on gold dev (n=69)"}
    assert 'data-alpha="0.630000"' in html and "validated 2026-12-01 with harness 0.1.0" in html


def test_a_calibrated_judge_needs_a_calibrated_validation(scored_run: Run) -> None:
    write_scores(scored_run, "judge", judge_scores(scored_run, calibration="cal.json@abc"))
    save(scored_run.folder / "validation", record("dev", 0.63))
    assert {cls for cls, _ in badges(build_report([scored_run]))} == {"not-validated"}
    save(
        scored_run.folder / "validation", record("dev", 0.63), record("dev", 0.71, calibration="cal.json@abc")
    )
    assert ("validated", "α 0.71") in [(c, t[:6]) for c, t in badges(build_report([scored_run]))]


def test_unverified_evidence_is_shown_unscored_with_the_reason(scored_run: Run) -> None:
    judged = judge_scores(scored_run)
    victim = next(s for s in judged if s.level is not None)
    unit = (victim.move, victim.delegation, victim.axis)
    # the score file holds a level, but the notes say its only sample quoted words nobody said
    judged = [
        s.model_copy(update={"level": 3}) if (s.move, s.delegation, s.axis) == unit else s for s in judged
    ]
    write_scores(scored_run, "judge", judged)
    notes = [
        JudgeNote(
            run_id=scored_run.run_id,
            move=victim.move,
            delegation=victim.delegation,
            axis=victim.axis,
            model="j",
            sample=0,
            status="unverified",
            level=3,
            reason=REASON,
        )
    ]
    notes_file = scored_run.folder / "scores" / "judge.notes.jsonl"
    notes_file.write_text("".join(n.model_dump_json() + "\n" for n in notes), encoding="utf-8")
    html = build_report([scored_run])
    heatmap = re.search(rf'(?s)<svg class="plot" id="p-judge-j-{victim.axis}-hm".*?</svg>', html)
    assert heatmap is not None
    cells = re.findall(
        r'<g class="hm-cell hm-missing hm-unverified" data-pair="([^"]+)" data-move="([^"]+)"'
        r' data-reason="([^"]+)"',
        heatmap.group(0),
    )
    others = len(scored_run.delegations()) - 1
    assert len(cells) == others and all(m == victim.move and victim.delegation in p for p, m, _ in cells)
    why = f"{victim.delegation} unscored: evidence failed verification (1 of 1 sample(s)): {REASON}"
    assert all(r == str(escape(why)) for _, _, r in cells)
    assert "evidence failed verification</text>" in heatmap.group(0)  # the legend
    rows = re.findall(r'<tr class="unscored-row" data-move="([^"]+)" data-delegation="([^"]+)"', html)
    assert rows == [(victim.move, victim.delegation)]
    assert str(escape(REASON)) in html
    # the cells above are "missing": the level 3 counts nowhere; the cards' heatmap (no notes) is untouched
    assert (
        re.search(
            r'<g class="hm-cell hm-missing hm-unverified"', html.split('id="p-stated-')[1].split("</svg>")[0]
        )
        is None
    )
    # a reply that never validated is unscored too, with its own reason
    notes[0] = notes[0].model_copy(update={"status": "invalid_reply", "level": None, "reason": "bad json"})
    notes_file.write_text("".join(n.model_dump_json() + "\n" for n in notes), encoding="utf-8")
    assert "no valid reply (1 sample(s)): bad json" in build_report([scored_run])


def test_stated_vs_revealed_gap_table(scored_run: Run) -> None:
    judged = judge_scores(scored_run)
    write_scores(scored_run, "judge", judged)
    html = build_report([scored_run])
    assert 'class="gap-block" data-revealed="judge (j)"' in html
    expected = gap_summary(stated_scores(scored_run), judged, n_boot=0)
    cells = dict(
        ((a, d), float(v))
        for a, d, v in re.findall(
            r'class="gap-cell num" data-axis="([^"]+)" data-delegation="([^"]+)" data-gap="([^"]+)"', html
        )
    )
    figures = {(r.axis, r.delegation): r.mean.estimate for r in expected.rows if r.n}
    assert cells.keys() == figures.keys() and cells
    for key, value in figures.items():
        assert value is not None  # a row with data has a mean
        assert cells[key] == pytest.approx(value, abs=1e-6)
        assert value >= 0  # the judge never reads more than the card says
    write_scores(scored_run, "judge", [])
    assert 'class="gap-block"' not in build_report([scored_run])  # no judge: no gap
