"""Fixtures shared by the whole suite (keep this small: sub-folders have their own conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository root, made the working directory (so relative paths in messages are stable)."""
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


@pytest.fixture
def scripted_run() -> Callable[..., tuple[Any, Any]]:
    """``scripted_run(scenario, out_root, **request_fields) -> (RunResult, ScriptedModel)``.

    Runs a scenario end to end with the deterministic scripted fake model (no network).
    """
    from harness.llm.fake import ScriptedModel
    from harness.runner import Models, RunRequest, start_run
    from harness.schema import BackendInfo

    def run(scenario: Path, out_root: Path, **fields: Any) -> tuple[Any, Any]:
        model = ScriptedModel()
        models = Models(default=model, backend=BackendInfo(profile="scripted", model="scripted"))
        result = asyncio.run(start_run(RunRequest(scenario=scenario, out_root=out_root, **fields), models))
        return result, model

    return run
