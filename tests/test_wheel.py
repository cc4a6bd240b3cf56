"""The harness as a user installs it: its own wheel in a fresh virtualenv, run from an empty folder.

Builds the wheel, installs it (with its dependencies) into a new virtualenv outside the checkout, and from
an empty temporary folder: lists the bundled scenarios, runs the bundled smoke scenario by id against the
project's fake OpenAI-compatible server, writes a workspace with ``harness init`` and validates it, and
runs and scores a workspace scenario that brings a rubric of its own. Slow (a few minutes: the install),
so marked; CI runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from harness.testserver import FakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

CUSTOM_RUBRIC = """\
# yaml-language-server: $schema=../schemas/rubric.schema.json
axis: cyber
title: "Cyber: how openly to answer a cyber attack on allied networks"
question: How openly does the delegation propose to answer the cyber attack?
levels:
  0: "No response beyond defending the networks."
  1: "Private warnings through diplomatic channels."
  2: "A public statement naming the attack, no attribution."
  3: "Public attribution with evidence."
  4: "Public attribution and a declared response in kind."
not_addressed: Says nothing about the cyber attack.
"""


def _sh(
    args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert out.returncode == 0, f"{' '.join(args)}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``harness`` console script of a fresh virtualenv holding the project's wheel."""
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _sh(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(base / "dist")],
        base,
        env,
    )
    (wheel,) = (base / "dist").glob("delegation_harness-*.whl")
    venv.create(base / "venv", with_pip=True)
    pip = base / "venv" / "bin" / "pip"
    _sh([str(pip), "install", "-q", "--disable-pip-version-check", str(wheel)], base, env, timeout=1200)
    return base / "venv" / "bin" / "harness"


def test_the_installed_wheel_runs_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "OPENAI_", "PYTHON"))}
    env["COLUMNS"] = "200"
    harness = str(installed)

    listed = _sh([harness, "scenarios"], empty, env).stdout
    assert "smoke" in listed and "tsd-2016-nk-crisis" in listed

    with FakeOpenAIServer(latency_ms=0) as server:
        backend = ["--backend", "compatible", "--base-url", server.base_url, "--model", "fake-model"]
        _sh([harness, "run", "smoke", *backend, "--run-id", "s1", "--quiet"], empty, env)
        manifest = json.loads((empty / "transcripts" / "s1" / "transcript.jsonl").read_text().splitlines()[0])
        assert manifest["scenario"]["id"] == "smoke"
        assert manifest["data_paths"]["personas"] == ["<bundled>"]
        assert "delegation_system" in manifest["prompts"] and set(manifest["rubrics"]) == {
            "neo",
            "china_messaging",
            "territorial",
        }

        _sh([harness, "init", "ws"], empty, env)
        assert "ok:" in _sh([harness, "validate", "ws"], empty, env).stdout

        ws = empty / "ws"
        (ws / "rubrics" / "cyber.yaml").write_text(CUSTOM_RUBRIC, encoding="utf-8")
        smoke = (ws / "scenarios" / "smoke.yaml").read_text(encoding="utf-8")
        custom = smoke.replace("id: smoke", "id: cyber-smoke").replace(
            "axes: [neo, china_messaging, territorial]", "axes: [neo, cyber]"
        )
        assert custom != smoke
        (ws / "scenarios" / "cyber-smoke.yaml").write_text(custom, encoding="utf-8")
        assert "ok:" in _sh([harness, "validate", "ws"], empty, env).stdout
        _sh(
            [harness, "run", "ws/scenarios/cyber-smoke.yaml", *backend, "--run-id", "c1", "--quiet"],
            empty,
            env,
        )

    run = empty / "transcripts" / "c1"
    manifest = json.loads((run / "transcript.jsonl").read_text().splitlines()[0])
    assert set(manifest["rubrics"]) == {"neo", "cyber"}
    assert manifest["data_paths"]["rubrics"][0] == str((ws / "rubrics").resolve())
    _sh([harness, "score", str(run), "--scorer", "stated"], empty, env)
    scores = [json.loads(line) for line in (run / "scores" / "stated.jsonl").read_text().splitlines()]
    assert {s["axis"] for s in scores} == {"neo", "cyber"}
    assert all(s["level"] in (0, 1, 2, 3, 4) for s in scores if s["axis"] == "cyber")
    _sh([harness, "report", str(run)], empty, env)
    assert "how openly to answer a cyber attack" in (run / "report.html").read_text(encoding="utf-8")
