"""The local executor: one asyncio event loop, at most ``concurrency`` runs in flight.

Each run bounds its own model calls (``options.max_concurrency``); every call of a backend passes the
same gate (rate limit + usage counters), so the limit holds across runs. Before each launch the token
budget is checked: once it is spent, no new run starts (runs in flight finish) and the rest are *capped*.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.batch.models import ModelPool
from harness.batch.plan import PlannedRun
from harness.batch.worker import RunRecord, RunSettings, execute_run

log = logging.getLogger(__name__)

Progress = Callable[[str, dict[str, Any]], None]
"""``(what, info)``: ``run_start`` {run_id}, ``run_end`` {record}, ``tokens`` {tokens, calls},
``capped`` {not_started, tokens}."""


@dataclass
class TokenBudget:
    """``cap`` tokens for the whole batch; ``base`` were spent by runs finished before this invocation."""

    cap: int | None
    base: int = 0
    spent: int = 0  # in this invocation
    calls: int = 0
    capped: bool = False
    listeners: list[Progress] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.base + self.spent

    def exhausted(self) -> bool:
        return self.cap is not None and self.total >= self.cap

    def add(self, tokens: int, calls: int = 1) -> None:
        self.spent += tokens
        self.calls += calls


def _emit(progress: Progress | None, what: str, **info: Any) -> None:
    if progress is None:
        return
    try:
        progress(what, info)
    except Exception:  # a display problem must never stop a batch
        log.debug("batch progress hook failed", exc_info=True)


async def run_local(
    pending: list[PlannedRun],
    settings: RunSettings,
    pool: ModelPool,
    *,
    concurrency: int,
    budget: TokenBudget,
    progress: Progress | None = None,
    on_record: Callable[[RunRecord], None] | None = None,
) -> dict[str, RunRecord]:
    """Execute ``pending`` runs; returns a record per run (``capped`` for those never started)."""
    records: dict[str, RunRecord] = {}
    gate = asyncio.Semaphore(max(1, concurrency))
    tasks: list[asyncio.Task[None]] = []

    async def one(run: PlannedRun) -> None:
        try:
            opened = pool.get(run.condition.backend.name)
            record = await execute_run(run, settings, opened)
        except Exception as exc:  # e.g. a backend that cannot be opened
            log.error("%s: %s", run.run_id, exc)
            record = RunRecord(run.run_id, "error", attempts=1, error=" ".join(str(exc).split())[:300])
        finally:
            gate.release()
        records[run.run_id] = record
        if on_record is not None:
            on_record(record)
        _emit(progress, "run_end", record=record)

    try:
        for i, run in enumerate(pending):
            await gate.acquire()
            if budget.exhausted():
                gate.release()
                budget.capped = True
                for later in pending[i:]:
                    records[later.run_id] = RunRecord(later.run_id, "capped", action="not_started")
                _emit(progress, "capped", not_started=len(pending) - i, tokens=budget.total)
                break
            _emit(progress, "run_start", run_id=run.run_id)
            tasks.append(asyncio.create_task(one(run), name=run.run_id))
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
    return records
