"""Scripted models whose behaviour is known, and the plumbing to run research experiments on them.

Each responder fills the position card with levels that depend on one thing only — the delegation's
*name* as the prompt gives it, its *brief*, or its *persona text* — plus a little seeded jitter (so runs
vary and intervals are not degenerate). Plain turns get the fake model's default sentence.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.batch.models import Backend, Opened
from harness.llm.base import ChatModel
from harness.llm.fake import FakeCall, ScriptedModel, _rng_for, default_responder
from harness.opening import Models
from harness.schema import BackendInfo

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "smoke.yaml"

BY_NAME = {"United States": 0, "Republic of Korea": 2, "Japan": 4}
JITTER = (-1, 0, 0, 1)

Responder = Callable[[FakeCall], Any]


def card_levels(call: FakeCall, base: int, jitter: bool = True, key: str | None = None) -> dict[str, Any]:
    """``base`` plus seeded jitter; with ``key``, the jitter depends on the run's seed and the key only
    (not on the prompt's wording), so a seat the experiment does not touch draws the same jitter in both
    conditions of a pair."""
    out = default_responder(call)
    assert isinstance(out, dict)
    rng = random.Random(f"{call.seed}|{call.sample}|{key}") if key is not None else _rng_for(call)
    for field in list(out):
        if field.endswith("_level"):
            out[field] = min(4, max(0, base + (rng.choice(JITTER) if jitter else 0)))
    return out


def name_model(call: FakeCall) -> Any:
    """Stance follows the flag: the delegation's name in 'As head of the X delegation'."""
    if call.response_model is None:
        return default_responder(call)
    m = re.search(r"As head of the (.+?) delegation", call.prompt_text)
    assert m is not None
    return card_levels(call, BY_NAME[m.group(1)], key=m.group(1))


def brief_model(call: FakeCall) -> Any:
    """Stance follows the brief (ignores the name): keywords of the smoke scenario's briefs."""
    if call.response_model is None:
        return default_responder(call)
    m = re.search(r"Your delegation's brief: (.*)", call.prompt_text)
    assert m is not None
    brief = m.group(1)
    base = 4 if "Senkaku" in brief else 2 if "Beijing informed" in brief else 0
    # the jitter (sampling noise) differs with the name the prompt gives, the level does not
    name = re.search(r"As head of the (.+?) delegation", call.prompt_text)
    return card_levels(call, base, key=f"{brief}|{name.group(1) if name else ''}")


def persona_model(call: FakeCall) -> Any:
    """Stance follows the persona text: a head with a real background takes a hard line (4), a head with
    none stays in the middle (2)."""
    if call.response_model is None:
        return default_responder(call)
    m = re.search(r"Who you are: (.*)", call.prompt_text)
    assert m is not None
    return card_levels(call, 4 if len(m.group(1)) > 200 else 2, key=m.group(1))


def constant_model(level: int) -> Responder:
    def respond(call: FakeCall) -> Any:
        if call.response_model is None:
            return default_responder(call)
        return card_levels(call, level, jitter=False)

    return respond


def scripted_opener(
    responder: Responder, per_model: Mapping[str, Responder] | None = None
) -> Callable[[Backend, Path | None], Opened]:
    """An opener for run_batch: the backend's default model plays ``responder``; a ``model_for`` entry
    whose model name is in ``per_model`` plays that responder."""

    def opener(backend: Backend, log_file: Path | None) -> Opened:
        per: dict[str, ChatModel] = {
            d: ScriptedModel((per_model or {})[name], model=name)
            for d, name in backend.spec.model_for.items()
        }
        models = Models(
            ScriptedModel(responder),
            BackendInfo(profile="scripted", model="scripted"),
            per,
            dict(backend.spec.model_for),
        )
        return Opened(models, None)

    return opener


@pytest.fixture
def scripted_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolvable backend that is never called (the runs use scripted models)."""
    for name in ("HARNESS_BACKEND", "HARNESS_BASE_URL", "HARNESS_MODEL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HARNESS_BACKEND", "compatible")
    monkeypatch.setenv("HARNESS_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("HARNESS_MODEL", "scripted")
