"""``run_batch``: plan, skip what is done, execute the rest (local or Ray), write index and summary.

Everything lands in one output folder: a run folder per run (``<out>/<run_id>/``), ``experiment.json``
(the resolved experiment), ``index.csv``/``index.parquet`` and ``summary.json``/``summary.csv``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.batch.estimate import token_rate
from harness.batch.local import Progress, TokenBudget, _emit, run_local
from harness.batch.models import ModelPool, Opener, open_backend, resolve_backends
from harness.batch.outputs import build_summary, index_rows, write_index, write_summary
from harness.batch.plan import Plan, build_plan
from harness.batch.ratelimit import LocalGate, RateLimiter
from harness.batch.spec import Experiment
from harness.batch.worker import RunRecord, RunSettings, completed_record, score_folder
from harness.errors import ConfigError
from harness.llm.base import CallUsage

log = logging.getLogger(__name__)

Executor = Literal["local", "ray"]
INDEX_EVERY_S = 2.0


# ------------------------------------------------------------------------------------------------
# dry run
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionEstimate:
    condition: str
    runs: int
    done: int
    calls: int  # for the runs still to do
    tokens_per_call: float
    rate_source: str

    @property
    def tokens(self) -> int:
        return round(self.calls * self.tokens_per_call)


@dataclass
class PlanEstimate:
    conditions: list[ConditionEstimate] = field(default_factory=list)
    done_ids: set[str] = field(default_factory=set)

    @property
    def runs(self) -> int:
        return sum(c.runs for c in self.conditions)

    @property
    def todo(self) -> int:
        return sum(c.runs - c.done for c in self.conditions)

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.conditions)

    @property
    def tokens(self) -> int:
        return sum(c.tokens for c in self.conditions)


def estimate_plan(plan: Plan, out_dir: Path) -> PlanEstimate:
    """Runs, calls and tokens still to spend (runs completed in ``out_dir`` cost nothing)."""
    est = PlanEstimate()
    default = plan.experiment.estimate.tokens_per_call
    for c in plan.conditions:
        runs = [r for r in plan.runs if r.condition.label == c.label]
        done = {r.run_id for r in runs if completed_record(r, out_dir) is not None}
        est.done_ids |= done
        rate = token_rate(out_dir, c.scenario_id, default)
        calls = sum(r.calls for r in runs if r.run_id not in done)
        est.conditions.append(
            ConditionEstimate(c.label, len(runs), len(done), calls, rate.tokens_per_call, rate.source)
        )
    return est


# ------------------------------------------------------------------------------------------------
# the batch
# ------------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    plan: Plan
    out_dir: Path
    executor: str
    records: dict[str, RunRecord]
    budget: TokenBudget
    wall_s: float
    files: list[Path] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for r in self.records.values() if r.status == status)

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.records.values() if r.action == "skipped")

    @property
    def retried(self) -> int:
        return sum(1 for r in self.records.values() if r.attempts > 1)


def local_gates(exp: Experiment, budget: TokenBudget, progress: Progress | None) -> dict[str, LocalGate]:
    def on_usage(usage: CallUsage) -> None:
        budget.add(usage.prompt_tokens + usage.completion_tokens)
        _emit(progress, "tokens", tokens=budget.spent, calls=budget.calls)

    gates: dict[str, LocalGate] = {}
    for b in exp.backends:
        limited = b.requests_per_minute is not None or b.tokens_per_minute is not None
        limiter = RateLimiter(b.requests_per_minute, b.tokens_per_minute) if limited else None
        gates[b.name] = LocalGate(limiter, on_usage=on_usage)
    return gates


def run_batch(
    exp: Experiment,
    out_dir: Path,
    *,
    executor: Executor = "local",
    concurrency: int | None = None,
    max_total_tokens: int | None = None,
    ray_address: str | None = None,
    progress: Progress | None = None,
    opener: Opener = open_backend,
) -> BatchResult:
    if executor not in ("local", "ray"):
        raise ConfigError(f"--executor {executor}: choose local or ray")
    started = time.monotonic()
    plan = build_plan(exp)
    backends = resolve_backends(exp)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "experiment.json").write_text(exp.model_dump_json(indent=2) + "\n", encoding="utf-8")
    records: dict[str, RunRecord] = {}
    for run in plan.runs:
        done = completed_record(run, out_dir)
        if done is not None:
            score_folder(out_dir / run.run_id, exp.scoring)
            records[run.run_id] = done
    pending = [r for r in plan.runs if r.run_id not in records]
    cap = max_total_tokens if max_total_tokens is not None else exp.max_total_tokens
    budget = TokenBudget(cap=cap, base=sum(r.tokens for r in records.values()))
    settings = RunSettings(out_dir, exp.options, exp.scoring, exp.retries, exp.retry_delay_s)
    n = concurrency or exp.concurrency
    _emit(progress, "plan", total=len(plan.runs), skipped=len(records), pending=len(pending))

    last_write = [0.0]

    def on_record(record: RunRecord) -> None:
        records[record.run_id] = record
        if time.monotonic() - last_write[0] >= INDEX_EVERY_S:
            last_write[0] = time.monotonic()
            write_index(out_dir, index_rows(plan, records), parquet=False)

    files: list[Path] = []
    try:
        if executor == "ray":
            from harness.batch.ray_executor import run_ray

            new = run_ray(
                pending,
                settings,
                backends,
                concurrency=n,
                budget=budget,
                ray_spec=exp.ray,
                address=ray_address,
                progress=progress,
                on_record=on_record,
            )
        else:
            pool = ModelPool(backends, local_gates(exp, budget, progress).__getitem__, opener=opener)

            async def local() -> dict[str, RunRecord]:
                try:
                    return await run_local(
                        pending,
                        settings,
                        pool,
                        concurrency=n,
                        budget=budget,
                        progress=progress,
                        on_record=on_record,
                    )
                finally:
                    await pool.aclose()

            new = asyncio.run(local())
        records.update(new)
    finally:
        files += write_index(out_dir, index_rows(plan, records))
    extra = {
        "executor": executor,
        "token_cap": {"cap": cap, "reached": budget.capped, "tokens": budget.total},
    }
    summary = build_summary(plan, records, out_dir, extra=extra)
    files += write_summary(out_dir, summary)
    log.info("batch %s: %d runs in %.1f s", exp.id, len(plan.runs), time.monotonic() - started)
    return BatchResult(plan, out_dir, executor, records, budget, time.monotonic() - started, files, summary)


def experiment_of(batch_dir: Path) -> dict[str, Any] | None:
    """The resolved experiment a batch folder was made with (``experiment.json``), if any."""
    path = batch_dir / "experiment.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


__all__ = [
    "BatchResult",
    "Callable",
    "ConditionEstimate",
    "PlanEstimate",
    "estimate_plan",
    "experiment_of",
    "run_batch",
]
