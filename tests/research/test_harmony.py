"""The harmony classifier against its hand labels, and the harmony index on scripted runs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from evals.harmony import classify, cues_in
from evals.harmony.validate import read_labelled, validate
from evals.metrics.harmony import DISCORD_IN_WORDS, HARMONY_IN_WORDS
from harness.cli import main
from harness.llm.fake import FakeCall, ScriptedModel, default_responder
from harness.runner import Models, RunRequest, start_run
from harness.schema import BackendInfo, Sampling
from tests.research.conftest import SMOKE, card_levels
from tests.research.test_fidelity import fixed_levels

HELDOUT_ACCURACY_FLOOR = 0.75
HELDOUT_KAPPA_FLOOR = 0.6


def test_labelled_set_is_hand_written_and_split_once() -> None:
    rows = read_labelled()
    assert 80 <= len(rows) <= 120
    assert all(r.author == "hand" for r in rows)
    assert {r.split for r in rows} == {"dev", "heldout"}
    assert len({r.id for r in rows}) == len(rows)
    held = [r for r in rows if r.split == "heldout"]
    assert 30 <= len(held) <= 50 and {r.label for r in held} == {"agree", "disagree", "neutral"}


def test_classifier_agreement_on_the_held_out_part(capsys: pytest.CaptureFixture[str]) -> None:
    figures = validate()
    with capsys.disabled():
        for part in ("dev", "heldout"):
            f = figures[part]
            recall = {lb: f["per_label"][lb]["recall"] for lb in ("agree", "disagree", "neutral")}
            print(  # the figure the docs quote; printed so every test run shows it
                f"\nharmony classifier, {part}: n={f['n']} accuracy={f['accuracy']:.3f} "
                f"kappa={f['kappa']:.3f} recall={ {k: round(v, 2) for k, v in recall.items()} }"
            )
    held = figures["heldout"]
    assert held["accuracy"] >= HELDOUT_ACCURACY_FLOOR
    assert held["kappa"] >= HELDOUT_KAPPA_FLOOR


def test_negation_contrast_and_neutral() -> None:
    assert classify("We agree with Tokyo on this.") == "agree"
    assert classify("We do not agree with Tokyo on this.") == "disagree"
    assert classify("We understand the concern, but we cannot accept armed troops.") == "disagree"
    assert classify("The ferry leaves Busan at six.") == "neutral"
    hits = cues_in("We never agree to that.")
    assert [(h.side, h.weight < 0) for h in hits] == [("disagree", True)]


def _reply(text: str, far_apart: bool) -> Any:
    """Every plenary question and answer is ``text``; cards far apart (fixed levels) or all at level 2."""

    def respond(call: FakeCall) -> Any:
        if call.response_model is not None:
            return fixed_levels(call) if far_apart else card_levels(call, 2, jitter=False)
        prompt = call.prompt_text
        if "put one pointed question" in prompt or "asks you:" in prompt:
            return text
        return default_responder(call)

    return respond


def _run(folder: Path, text: str, *, far_apart: bool) -> Path:
    req = RunRequest(scenario=SMOKE, out_root=folder, run_id="h", sampling=Sampling(seed=1))
    model = ScriptedModel(_reply(text, far_apart))
    asyncio.run(start_run(req, Models(model, BackendInfo(profile="scripted", model="scripted"))))
    return folder / "h"


def test_polite_words_over_distant_cards_are_flagged(tmp_path: Path) -> None:
    run = _run(tmp_path, "We fully agree with your approach and support it.", far_apart=True)
    assert main(["harmony", str(run)]) == 0
    result = json.loads((run / "harmony.json").read_text())
    (cond,) = result["conditions"]
    assert cond["exchanges"] == 6  # three questions, three answers
    cells = {tuple(c["pair"]): c for c in cond["cells"] if c["move"] == "m1"}
    assert all(c["disagreement"] == 0 and c["exchanges"] == 2 for c in cells.values())
    assert cells[("JPN", "ROK")]["card_distance"] == pytest.approx(0.75)
    assert cells[("JPN", "ROK")]["flag"] == HARMONY_IN_WORDS
    assert cells[("ROK", "US")]["flag"] is None  # 0.42 apart: not far enough to flag
    assert cond["flags"][HARMONY_IN_WORDS] == 2
    assert result["classifier"]["heldout"]["accuracy"] >= HELDOUT_ACCURACY_FLOOR
    assert main(["report", str(run)]) == 0  # a run's report shows its harmony.json
    assert (run / "report.html").read_text().count(f'data-flag="{HARMONY_IN_WORDS}"') == 2


def test_sharp_words_over_matching_cards_are_flagged_the_other_way(tmp_path: Path) -> None:
    run = _run(tmp_path, "We reject that; it is unacceptable.", far_apart=False)
    assert main(["harmony", str(run)]) == 0
    (cond,) = json.loads((run / "harmony.json").read_text())["conditions"]
    flagged = [c for c in cond["cells"] if c["move"] == "m1"]
    assert all(c["disagreement"] == 1 and c["card_distance"] == 0 for c in flagged)
    assert all(c["flag"] == DISCORD_IN_WORDS for c in flagged)
    assert cond["pairs"]["JPN–ROK"]["estimate"] == 1


def test_validate_command_prints_the_agreement(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["harmony", "--validate"]) == 0
    out = capsys.readouterr().out
    assert "heldout" in out and "kappa" in out
    assert main(["harmony"]) == 2
