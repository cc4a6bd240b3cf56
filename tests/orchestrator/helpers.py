"""Shared helpers for the orchestrator tests (scripted fake model, no network)."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from harness.context import Options
from harness.llm.fake import FakeCall, ScriptedModel, default_responder
from harness.runner import Models, RunRequest, RunResult, start_run
from harness.schema import BackendInfo, Sampling
from harness.transcript import Run

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "scenarios" / "tsd-2016-nk-crisis.yaml"
SMOKE = ROOT / "scenarios" / "smoke.yaml"


def models(model: ScriptedModel) -> Models:
    return Models(default=model, backend=BackendInfo(profile="scripted", model=model.model))


def run_fake(
    scenario: Path,
    out: Path,
    model: ScriptedModel | None = None,
    *,
    options: Options | None = None,
    **req: Any,
) -> tuple[RunResult, Run, ScriptedModel]:
    model = model or ScriptedModel()
    request = RunRequest(scenario=scenario, out_root=out, sampling=Sampling(seed=3), **req)
    if options is not None:
        request.options = options
    result = asyncio.run(start_run(request, models(model)))
    return result, Run.load(result.folder), model


class UniqueResponder:
    """Plain replies carry a unique serial number, so any copy of a text can be traced."""

    def __init__(self, levels: dict[tuple[str, str], dict[str, int]] | None = None) -> None:
        self.counter = itertools.count(1)
        self.levels = levels or {}

    def __call__(self, call: FakeCall) -> str | dict[str, Any]:
        if call.response_model is None:
            return f"Statement number {next(self.counter):05d} on the crisis."
        out = default_responder(call)
        assert isinstance(out, dict)
        for field in list(out):
            if field.endswith("_level"):
                out[field] = 2  # mid-scale unless a test sets it: no branch condition holds by chance
        name = call.response_model.__name__  # card_<move>_<delegation>
        _, move, delegation = name.split("_", 2)
        for axis, level in self.levels.get((move, delegation), {}).items():
            out[f"{axis}_level"] = level
        return out
