"""Bounded context: the largest prompt stays under the cap however many moves have been played."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench._common import long_scenario
from harness.context import Options, approx_tokens
from harness.llm.fake import FakeCall
from harness.schema import PositionCardEvent, UtteranceEvent
from tests.orchestrator.helpers import DEFAULT, ScriptedModel, UniqueResponder, run_fake

CAP = 4300  # tokens (estimated); 20 moves of untrimmed history need ~7,800


def _prompt_tokens(call: FakeCall) -> int:
    return sum(approx_tokens(m["content"]) for m in call.messages)


@pytest.mark.parametrize("n_moves", [5, 20])
def test_largest_prompt_under_cap(tmp_path: Path, n_moves: int) -> None:
    root = tmp_path / "data"
    scenario = long_scenario(root, n_moves, DEFAULT)
    model = ScriptedModel(UniqueResponder())
    result, run, _ = run_fake(
        scenario,
        tmp_path / "runs",
        model,
        options=Options(prompt_cap=CAP),
        personas_dir=DEFAULT.parent.parent / "personas",
        rubrics_dir=DEFAULT.parent.parent / "evals" / "rubrics",
    )
    assert result.status == "completed"
    assert len(run.moves()) == n_moves
    sizes = [_prompt_tokens(c) for c in model.calls]
    assert max(sizes) <= CAP, f"largest prompt {max(sizes)} > cap {CAP}"
    # the history did reach later prompts (the cap trims it, it does not drop it all)
    late = [c for c in model.calls if "Earlier in the exercise" in c.messages[-1]["content"]]
    assert late, "no prompt carried a summary of earlier moves"
    # every call's token counts are recorded in the transcript
    recorded = [
        e.usage
        for e in run.events
        if isinstance(e, UtteranceEvent | PositionCardEvent) and e.usage is not None
    ]
    assert len(recorded) == len(model.calls)
    assert all(u.prompt_tokens > 0 and u.completion_tokens > 0 for u in recorded)


def test_history_is_trimmed_not_growing(tmp_path: Path) -> None:
    """Without trimming, 20 moves of history would exceed the cap: the bound is real."""
    root = tmp_path / "data"
    scenario = long_scenario(root, 20, DEFAULT)
    model = ScriptedModel(UniqueResponder())
    run_fake(
        scenario,
        tmp_path / "runs",
        model,
        options=Options(prompt_cap=100_000),
        personas_dir=DEFAULT.parent.parent / "personas",
        rubrics_dir=DEFAULT.parent.parent / "evals" / "rubrics",
    )
    assert max(_prompt_tokens(c) for c in model.calls) > CAP
