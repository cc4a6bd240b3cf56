"""A human takes ROK's head seat at the terminal (pexpect), including a restart mid-run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from harness.schema import PositionCardEvent, UtteranceEvent
from harness.testserver import FakeOpenAIServer
from harness.transcript import Run
from tests.orchestrator.helpers import SMOKE

CARD_ANSWERS = {
    "answer_1": "We tell Beijing our intentions early and plainly.",
    "answer_2": "Commercial and US means only; no SDF on Korean soil.",
    "neo_level": "0",
    "neo_rationale": "Japanese troops on our soil are unacceptable to our public.",
    "china_messaging_level": "4",
    "china_messaging_rationale": "We will need Beijing after the crisis.",
    "territorial_level": "",  # left blank: not addressed
    "territorial_rationale": "Not our call.",
    "request_to": "JPN",
    "request": "Use civilian ferries from Busan.",
    "red_lines_invoked": "No foreign troops without National Assembly consent",
}


def _spawn(args: list[str], out: Path, url: str) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "OPENAI_"))}
    env["COLUMNS"] = "200"
    cmd = [
        *args,
        "--backend",
        "compatible",
        "--base-url",
        url,
        "--model",
        "fake-model",
        "--out",
        str(out),
        "--quiet",
    ]
    return pexpect.spawn(
        sys.executable, ["-m", "harness", *cmd], env=env, encoding="utf-8", timeout=60, dimensions=(50, 200)
    )


def _turn(child: pexpect.spawn, phase: str, text: str) -> None:
    child.expect(rf"ROK \({phase}\)>")
    child.sendline(text)


@pytest.mark.skipif(sys.platform == "win32", reason="pexpect needs a pty")
def test_human_plays_rok_head_across_a_restart(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with FakeOpenAIServer(latency_ms=5) as server:
        child = _spawn(["run", str(SMOKE), "--human", "ROK", "--run-id", "seat"], out, server.base_url)
        child.expect("Your seat: ROK")  # the seat is shown what it would see
        _turn(child, "caucus", "Seoul must hear Beijing out before anything else.")
        child.expect("position card")
        for name, value in CARD_ANSWERS.items():
            child.expect(name)
            if name == "answer_1":  # the person sees the inject and the questions, not the model's prompt
                assert "What will you tell Beijing" in child.before
                assert "JSON" not in child.before and "Answer with" not in child.before
            if name == "neo_level":  # each level with its rubric anchor
                assert "Civilian/commercial means only" in child.before
            child.sendline(value)
        child.expect(r"ROK \(report\)>")
        child.sendintr()  # the trainee walks away: Ctrl-C
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 3
        mid = Run.load(out / "seat")
        mid_end = mid.run_end()
        assert mid_end is not None and mid_end.status == "interrupted"

        child = _spawn(["resume", "seat"], out, server.base_url)
        _turn(child, "report", "ROK will not accept SDF units on Korean soil.")
        _turn(child, "question", "Will Tokyo commit to civilian means only?")
        _turn(child, "answer", "We ask our partners to respect the National Assembly.")
        _turn(child, "hotwash", "We diverged most on the SDF question.")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before

    run = Run.load(out / "seat")
    end = run.run_end()
    assert end is not None and end.status == "completed"
    human = [e for e in run.events if getattr(e, "author", None) == "human"]
    assert {e.key for e in human} == {
        "m1/caucus/ROK/r1/rok-mofa",
        "m1/card/ROK",
        "m1/plenary/ROK/report",
        "m1/plenary/ROK/r1/question",
        "m1/plenary/ROK/r1/answer",
        "hotwash/ROK",
    }
    card = next(e for e in human if isinstance(e, PositionCardEvent)).card
    levels = {s.axis: s.level for s in card.stances}
    assert levels == {"neo": 0, "china_messaging": 4, "territorial": None}
    assert card.requests[0].to == "JPN"
    assert card.red_lines_invoked == [CARD_ANSWERS["red_lines_invoked"]]
    report = next(e for e in human if isinstance(e, UtteranceEvent) and e.phase == "report")
    assert report.text == "ROK will not accept SDF units on Korean soil."
    # the other ROK member still spoke (AI), and every human turn appears exactly once
    assert any(u.speaker == "rok-blue-house" and u.author == "model" for u in run.utterances())
    keys = [e.key for e in run.events]
    assert len(keys) == len(set(keys))
