"""The judge inside a batch: a scoring.judge block opens its model, scores every run, keeps to its budget."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.batch import load_experiment, run_batch
from harness.batch.judging import spent, usage_path
from harness.batch.outputs import load_scores
from harness.errors import DataError
from harness.testserver import FakeOpenAIServer

STATEMENT = re.compile(r"^\[(U\d+)\] [^:]+\): (.+)$", re.M)


def judge_answers(body: dict[str, Any]) -> str | None:
    """Judge prompts get a verdict quoting the first statement (level 3); everything else the default."""
    text = "\n".join(str(m.get("content", "")) for m in body["messages"])
    if "Score DELEGATION A" not in text:
        return None
    m = STATEMENT.search(text)
    if m is None:
        return json.dumps({"evidence": [], "level": "not_addressed", "salience": 0})
    quote = " ".join(m.group(2).split()[:4])
    return json.dumps(
        {"evidence": [{"utterance_id": m.group(1), "quote": quote}], "level": "3", "salience": 1}
    )


def judge_block(**extra: Any) -> dict[str, Any]:
    return {
        "scorers": ["stated", "judge"],
        "n_boot": 50,
        "judge": {"profile": "compatible", "model": "judge-m", **extra},
    }


def test_a_judge_scorer_needs_a_judge_block(experiment: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"needs a model: add a scoring\.judge block"):
        load_experiment(experiment(scoring={"scorers": ["rules", "judge"]}))
    exp = load_experiment(experiment(scoring=judge_block(max_total_tokens=1000)))
    assert exp.scoring.judge is not None and exp.scoring.judge.max_total_tokens == 1000


def test_judge_scores_every_run_and_stops_at_its_budget(
    fake_server: FakeOpenAIServer, experiment: Callable[..., Path]
) -> None:
    fake_server.settings.responder = judge_answers
    path = experiment(
        sampling={"temperature": [0.7], "seed": [1, 2, 3]},
        repetitions=1,
        concurrency=1,
        scoring=judge_block(),
    )
    out = path.parent / "out"
    result = run_batch(load_experiment(path), out)
    assert result.count("completed") == 3
    runs = [r.run_id for r in result.plan.runs]
    per_run = json.loads(usage_path(out / runs[0], "judge").read_text())
    assert per_run["calls"] > 0 and per_run["prompt_tokens"] > 0
    scores = load_scores(out / runs[0], "judge")
    assert scores and all(s.scorer == "judge" and s.model == "judge-m" for s in scores)
    assert any(s.level == 3 and s.evidence for s in scores)  # verified quotes
    summary = json.loads((out / "summary.json").read_text())
    assert "judge" in summary["scorers"] and summary["conditions"][0]["scores"]["judge"]
    assert spent(out, "judge") == 3 * per_run["prompt_tokens"] + 3 * per_run["completion_tokens"]

    # a budget smaller than one run's judging: the first run is judged, the later ones are not
    capped = experiment(
        name="capped.yaml",
        sampling={"temperature": [0.7], "seed": [1, 2, 3]},
        repetitions=1,
        concurrency=1,
        scoring=judge_block(max_total_tokens=10),
    )
    out2 = capped.parent / "out2"
    result = run_batch(load_experiment(capped), out2)
    assert result.count("completed") == 3
    judged = [usage_path(out2 / r, "judge").is_file() for r in runs]
    assert judged == [True, False, False]
    assert all((out2 / r / "scores" / "stated.jsonl").is_file() for r in runs)  # other scorers go on
