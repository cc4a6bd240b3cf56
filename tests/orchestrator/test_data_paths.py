"""A run's own data folders: a workspace's prompts and personas are used, recorded in the manifest, and
read again by resume and fork (a run never continues on other files without a word)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from harness.fork import fork_run
from harness.llm.base import BackendUnavailable
from harness.llm.fake import FakeCall, ScriptedModel, ScriptedReply, default_responder
from harness.loaders import sha256_file
from harness.resources import BUNDLED
from harness.runner import RunInterrupted, resume_run
from harness.transcript import Run
from tests.orchestrator.helpers import ROOT, SMOKE, models, run_fake

MARK = "PROMPT-MARK-7731"


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    """A copy of the bundled prompts whose system prompt carries a marker (hand-made test data)."""
    folder = tmp_path / "my-prompts"
    shutil.copytree(ROOT / "prompts", folder)
    system = folder / "delegation_system.md"
    system.write_text(system.read_text(encoding="utf-8") + f"\n{MARK}\n", encoding="utf-8")
    return folder


def _marked(model: ScriptedModel) -> list[bool]:
    return [MARK in c.prompt_text for c in model.calls if c.response_model is None]


def test_custom_prompts_are_recorded_and_kept_on_resume_and_fork(tmp_path: Path, prompts_dir: Path) -> None:
    out = tmp_path / "runs"
    calls = {"n": 0}

    def dies_after_four(call: FakeCall) -> ScriptedReply:
        calls["n"] += 1
        if calls["n"] > 4:
            raise BackendUnavailable("the backend went away")
        return default_responder(call)

    first = ScriptedModel(dies_after_four)
    with pytest.raises(RunInterrupted):
        run_fake(SMOKE, out, first, run_id="r1", prompts_dir=prompts_dir)
    assert _marked(first) and all(_marked(first))
    manifest = Run.load(out / "r1").manifest
    assert manifest.data_paths["prompts"] == [str(prompts_dir.resolve()), BUNDLED]
    assert manifest.prompts["delegation_system"] == sha256_file(prompts_dir / "delegation_system.md")
    assert manifest.prompts["caucus"] == sha256_file(ROOT / "prompts" / "caucus.md")  # not overridden
    # resume with a healthy model: the run's own prompts, not the bundled ones
    second = ScriptedModel()
    result = asyncio.run(resume_run(out / "r1", models(second), out_root=out))
    assert result.status == "completed"
    assert _marked(second) and all(_marked(second))
    # a fork of the finished run reads them too
    third = ScriptedModel()
    forked = asyncio.run(fork_run(out / "r1", "m1", models(third), out_root=out, run_id="f1"))
    assert forked.status == "completed" and all(_marked(third))
    assert Run.load(out / "f1").manifest.data_paths == manifest.data_paths


def test_a_workspace_scenario_finds_its_own_files_first(tmp_path: Path) -> None:
    """A scenario in ws/scenarios/ with its own persona file and rubric beside it: those are used, the
    rest comes from the bundled defaults, and the manifest says which by hash."""
    ws = tmp_path / "ws"
    (ws / "scenarios").mkdir(parents=True)
    (ws / "personas").mkdir()
    shutil.copy(SMOKE, ws / "scenarios" / "smoke.yaml")
    own = (ROOT / "personas" / "rok-mofa.yaml").read_text(encoding="utf-8")
    (ws / "personas" / "rok-mofa.yaml").write_text(own.replace("voice:", "voice: Terse. "), encoding="utf-8")
    _, run, _ = run_fake(ws / "scenarios" / "smoke.yaml", tmp_path / "runs", run_id="w1")
    m = run.manifest
    assert m.data_paths["personas"] == [str((ws / "personas").resolve()), BUNDLED]
    assert m.personas["rok-mofa"] == sha256_file(ws / "personas" / "rok-mofa.yaml")
    assert m.personas["us-state"] == sha256_file(ROOT / "personas" / "us-state.yaml")
    assert set(m.rubrics) == {"neo", "china_messaging", "territorial"}
