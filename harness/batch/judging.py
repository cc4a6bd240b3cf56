"""Scorers that need a model (the ``judge``) inside a batch: their models, their token budget.

The experiment's ``scoring.judge`` block names the backend/model (resolved like ``harness score
--judge-backend/--judge-model``); the models are opened once per process (a Ray worker opens its own)
and every call of a run's judging passes a counting gate. What a run's judging spent is written beside
its scores (``scores/<scorer>.usage.json``), so the budget (``max_total_tokens``) is the sum over the
batch folder, across invocations and executors: once it is spent, later runs are left unjudged (a
warning, and their judge scores are simply missing; run the batch again with a larger budget to fill
them in). Runs being judged when the budget runs out finish, so the cap may be passed by those runs.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from evals.scorers import ScorerSettings, build_scorer
from evals.scores_io import NOTES_SUFFIX, scores_path, write_jsonl, write_scores
from harness.batch.ratelimit import LimitedModel, LocalGate
from harness.batch.spec import JudgeSpec, ScoringSpec
from harness.schema import Rubric
from harness.transcript import Run

if TYPE_CHECKING:
    from harness.llm.base import ChatModel

log = logging.getLogger(__name__)

USAGE_SUFFIX = ".usage.json"
_lock = threading.Lock()


def usage_path(run_folder: Path, scorer: str) -> Path:
    return scores_path(run_folder, scorer).with_name(f"{scorer}{USAGE_SUFFIX}")


def spent(batch_dir: Path, scorer: str) -> int:
    """Tokens the scorer's judging has spent over the batch folder (every run's usage file)."""
    total = 0
    for path in batch_dir.glob(f"*/scores/{scorer}{USAGE_SUFFIX}"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            total += int(data.get("prompt_tokens", 0)) + int(data.get("completion_tokens", 0))
        except (OSError, ValueError, TypeError):
            log.warning("%s: unreadable judge usage file, counted as 0", path)
    return total


_opened: dict[str, ChatModel] = {}


def _models(spec: JudgeSpec) -> list[ChatModel]:
    """The judge's chat models, opened once per process and resolved backend (flags, environment and
    harness.toml are read each time, so a changed endpoint gets a model of its own)."""
    from harness.llm.client import build_chat_model
    from harness.llm.config import resolve_backend

    config = resolve_backend(spec.profile, spec.base_url, spec.model)
    if spec.cache is not None:
        config = config.model_copy(update={"cache_dir": spec.cache})
    key = config.model_dump_json()  # the key (a secret) is never dumped: one model per endpoint
    with _lock:
        if key not in _opened:
            _opened[key] = build_chat_model(config)
        return [_opened[key]]


def judge_folder(folder: Path, name: str, scoring: ScoringSpec, run: Run, rubrics: dict[str, Rubric]) -> bool:
    """Score one run with a model-backed scorer; ``False`` when the budget left it unjudged."""
    spec = scoring.judge
    assert spec is not None  # the spec's validator requires it for such scorers
    with _lock:
        used = spent(folder.parent, name)
    if spec.max_total_tokens is not None and used >= spec.max_total_tokens:
        log.warning(
            "%s: judge budget of %d tokens spent (%d): %s left unjudged",
            run.run_id,
            spec.max_total_tokens,
            used,
            name,
        )
        return False
    gate = LocalGate()
    models = [LimitedModel(m, gate) for m in _models(spec)]
    settings = ScorerSettings(
        models=models, samples=spec.samples, concurrency=spec.concurrency, seed=scoring.seed
    )
    scorer = build_scorer(name, settings)
    scores = scorer.score_run(run, rubrics)
    write_scores(scores_path(folder, name), scores)
    notes = getattr(scorer, "notes", None)
    if notes:
        path = scores_path(folder, name)
        write_jsonl(path.with_name(path.stem + NOTES_SUFFIX), notes)
    c = gate.counters
    usage = {"calls": c.calls, "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens}
    usage_path(folder, name).write_text(json.dumps(usage) + "\n", encoding="utf-8")
    return True
