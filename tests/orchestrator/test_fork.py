"""Counterfactual forks: a new run that shares the parent's history up to a move and records its parent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.fork import fork_run
from harness.schema import InjectEvent
from harness.transcript import Run
from tests.orchestrator.helpers import DEFAULT, ScriptedModel, UniqueResponder, models, run_fake

NEW_INJECT = (
    "Counterfactual: Pyongyang offers talks in Panmunjom instead of shelling. (hand-written test text)"
)


def test_fork_at_a_move_with_a_changed_inject(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    parent_result, parent, _ = run_fake(DEFAULT, out, ScriptedModel(UniqueResponder()))
    before = (parent_result.folder / "transcript.jsonl").read_bytes()
    model = ScriptedModel(UniqueResponder())
    child_result = asyncio.run(
        fork_run(
            parent.folder,
            "m3",
            models(model),
            sets=[f"inject={NEW_INJECT}", "seed=11"],
            out_root=out,
            run_id="child",
        )
    )
    assert child_result.status == "completed"
    child = Run.load(out / "child")
    m = child.manifest
    assert m.parent is not None and (m.parent.run_id, m.parent.move) == (parent.run_id, "m3")
    assert m.sampling.seed == 11
    # the shared history is the parent's, word for word, and was not asked again
    for move in ("m1", "m2"):
        p_texts = [(u.key, u.text) for u in parent.utterances() if u.move == move]
        c_texts = [(u.key, u.text) for u in child.utterances() if u.move == move]
        assert p_texts == c_texts and p_texts
    asked_moves = {c.response_model.__name__.split("_")[1] for c in model.calls if c.response_model}
    assert asked_moves == {"m3", "m4", "m5"}
    inject = next(e for e in child.events if isinstance(e, InjectEvent) and e.move == "m3")
    assert inject.text == NEW_INJECT
    assert child.moves() == ["m1", "m2", "m3", "m4", "m5"]
    # the parent is untouched
    assert (parent_result.folder / "transcript.jsonl").read_bytes() == before


def test_fork_rejects_unknown_move_and_key(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    _, parent, _ = run_fake(DEFAULT, out, ScriptedModel(UniqueResponder()))
    with pytest.raises(ConfigError, match="not played"):
        asyncio.run(fork_run(parent.folder, "m9", models(ScriptedModel()), out_root=out))
    with pytest.raises(ConfigError, match="unknown key"):
        asyncio.run(fork_run(parent.folder, "m2", models(ScriptedModel()), sets=["colour=red"], out_root=out))
