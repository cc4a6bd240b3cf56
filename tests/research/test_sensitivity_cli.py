"""``harness sensitivity`` end to end against the project's fake OpenAI-compatible server: it completes,
is resumable like a batch, writes the summary and the report's research section; experiment files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.batch.outputs import read_index
from harness.cli import main
from harness.testserver import FakeOpenAIServer
from tests.research.conftest import ROOT

CALLS_PER_RUN = 21  # the smoke scenario


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    for name in list(os.environ):
        if name.startswith(("HARNESS_", "OPENAI_")):
            monkeypatch.delenv(name, raising=False)
    with FakeOpenAIServer(latency_ms=5) as server:
        monkeypatch.setenv("HARNESS_BACKEND", "compatible")
        monkeypatch.setenv("HARNESS_BASE_URL", server.base_url)
        monkeypatch.setenv("HARNESS_MODEL", "fake-model")
        yield server


def test_identity_swap_on_the_fake_server_completes_and_resumes(
    fake_server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "swap"
    args = ["sensitivity", "smoke", "--experiment", "identity-swap", "--reps", "4", "--out", str(out), "-q"]
    assert main(args) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "verdict:" in printed and "power:" in printed
    assert fake_server.chat_count == 8 * CALLS_PER_RUN
    summary = json.loads((out / "summary.json").read_text())
    s = summary["sensitivity"]
    assert s["experiment"] == "identity-swap" and s["spec"]["swap"] == ["US", "JPN"]
    assert [(c["role"], c["runs"]) for c in s["conditions"]] == [("baseline", 4), ("treatment", 4)]
    assert len(s["cells"]) == 9 and s["verdict"]["line"]
    report = (out / "report.html").read_text()
    assert 'id="research"' in report and f'data-verdict="{s["verdict"]["label"]}"' in report
    # the same command again: nothing is asked of the model, the figures are the same
    assert main(args) == 0
    assert fake_server.chat_count == 8 * CALLS_PER_RUN
    assert {r["action"] for r in read_index(out)} == {"skipped"}
    assert json.loads((out / "summary.json").read_text())["sensitivity"]["cells"] == s["cells"]
    # a folder report names the batch and shows the same section
    assert main(["report", str(out), "-o", str(tmp_path / "again.html")]) == 0
    assert 'id="research"' in (tmp_path / "again.html").read_text()


def test_an_experiment_file_with_a_sensitivity_block(fake_server: FakeOpenAIServer, tmp_path: Path) -> None:
    path = tmp_path / "ablate.yaml"
    path.write_text(
        "# yaml-language-server: $schema=../schemas/experiment.schema.json\n"
        + yaml.safe_dump(
            {
                "id": "ablate",
                "scenarios": [str(ROOT / "scenarios" / "smoke.yaml")],
                "backends": [{"name": "fake", "profile": "compatible", "model": "fake-model"}],
                "sampling": {"seed": [1, 2]},
                "repetitions": 1,
                "retry_delay_s": 0,
                "sensitivity": {"experiment": "brief-ablation", "ablate": ["JPN"], "n_boot": 500},
            }
        )
    )
    out = tmp_path / "out"
    assert main(["sensitivity", str(path), "--out", str(out), "-q", "--no-report"]) == 0
    s = json.loads((out / "summary.json").read_text())["sensitivity"]
    assert s["experiment"] == "brief-ablation" and s["n_boot"] == 500
    assert s["conditions"][1]["changes"] == ["the briefs of JPN replaced by the neutral brief"]
    assert main(["batch", str(path), "--out", str(tmp_path / "b")]) == 2  # not a plain batch
    assert main(["sensitivity", str(path), "--experiment", "model"]) == 2  # the file says what to run
