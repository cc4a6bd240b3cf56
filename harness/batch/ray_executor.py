"""The Ray executor (``harness batch --executor ray``): simulations spread over a pool of async actors.

Each simulation is one call to an **async actor** (:class:`_Worker`) that runs many simulations at once in
its own event loop: runs wait on the model, not on a CPU, so an actor reserves only a fraction of a CPU
(``ray.num_cpus``, default 0.25) and a two-core machine runs dozens of simulations. One more actor
(:class:`_Limiter`) owns every backend's rate limit and the usage counters, so the limit holds across all
workers (one limiter per worker would multiply it) and the driver can enforce the token cap.

The driver keeps at most ``concurrency`` runs in flight, least-loaded actor first; a worker that dies
is replaced and its runs resumed (bounded by ``retries``). Outputs are the local executor's.

Without an address a local Ray instance is started (all cores). On a cluster::

    harness batch experiment.yaml --executor ray --ray-address ray://head-node:10001   # Ray Client
    harness batch experiment.yaml --executor ray --ray-address auto                    # on a node

Every node needs the harness installed (``pip install delegation-harness``) and must see the experiment's
scenario/persona folders and ``--out`` at the same absolute paths (a shared filesystem): workers write the
run folders, the driver writes the index and the summary.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.batch.local import Progress, TokenBudget, _emit
from harness.batch.models import Backend, ModelPool
from harness.batch.plan import PlannedRun
from harness.batch.ratelimit import Counters, RateLimiter
from harness.batch.spec import RaySpec
from harness.batch.worker import RunRecord, RunSettings, execute_run
from harness.errors import ConfigError
from harness.llm.base import CallUsage

log = logging.getLogger(__name__)

POLL_S = 0.25


class _Limiter:
    """The one rate-limit owner (a Ray actor): per-backend buckets plus usage counters."""

    def __init__(self, limits: dict[str, tuple[float | None, float | None]]) -> None:
        self.limiters = {
            n: RateLimiter(r, t) for n, (r, t) in limits.items() if r is not None or t is not None
        }
        self.counters = Counters()

    def reserve(self, backend: str, tokens: int) -> float:
        limiter = self.limiters.get(backend)
        return limiter.reserve(tokens) if limiter is not None else 0.0

    def settle(self, backend: str, reserved: int, prompt_tokens: int, completion_tokens: int) -> None:
        limiter = self.limiters.get(backend)
        if limiter is not None:
            limiter.settle(reserved, prompt_tokens + completion_tokens)
        self.counters.calls += 1
        self.counters.prompt_tokens += prompt_tokens
        self.counters.completion_tokens += completion_tokens

    def stats(self) -> tuple[int, int]:
        return self.counters.calls, self.counters.tokens


class RayGate:
    """A worker's view of the limiter actor (see :class:`~harness.batch.ratelimit.Gate`)."""

    def __init__(self, limiter: Any, backend: str, limited: bool) -> None:
        self.limiter = limiter
        self.backend = backend
        self.limited = limited

    async def acquire(self, tokens: int) -> None:
        if self.limited:
            wait = await self.limiter.reserve.remote(self.backend, tokens)
            if wait > 0:
                await asyncio.sleep(wait)

    def acquire_sync(self, tokens: int) -> None:
        import ray

        if self.limited:
            wait = ray.get(self.limiter.reserve.remote(self.backend, tokens))
            if wait > 0:
                time.sleep(wait)

    def settle(self, reserved: int, usage: CallUsage) -> None:
        self.limiter.settle.remote(self.backend, reserved, usage.prompt_tokens, usage.completion_tokens)


class _Worker:
    """Runs simulations (a Ray async actor: many ``run`` calls share its event loop)."""

    def __init__(self, settings: RunSettings, backends: dict[str, Backend], limiter: Any) -> None:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        self.settings = settings
        limited = {
            n: b.spec.requests_per_minute is not None or b.spec.tokens_per_minute is not None
            for n, b in backends.items()
        }
        self.pool = ModelPool(backends, lambda n: RayGate(limiter, n, limited[n]))

    async def run(self, run: PlannedRun) -> RunRecord:
        try:
            opened = self.pool.get(run.condition.backend.name)
        except Exception as exc:  # e.g. an embedded server that cannot start on this node
            return RunRecord(run.run_id, "error", attempts=1, error=" ".join(str(exc).split())[:300])
        return await execute_run(run, self.settings, opened)

    async def ready(self) -> bool:
        return True

    async def close(self) -> None:
        await self.pool.aclose()


def _init(address: str | None) -> bool:
    """Connect to (or start) Ray; True when this call started it (and so shuts it down after)."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--executor ray needs Ray: pip install ray") from exc
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"--ray-address {address}: cannot connect to Ray ({exc})") from exc
    return True


def run_ray(
    pending: list[PlannedRun],
    settings: RunSettings,
    backends: dict[str, Backend],
    *,
    concurrency: int,
    budget: TokenBudget,
    ray_spec: RaySpec,
    address: str | None = None,
    progress: Progress | None = None,
    on_record: Callable[[RunRecord], None] | None = None,
) -> dict[str, RunRecord]:
    started_here = _init(address)
    import ray
    from ray.exceptions import RayActorError, RayError

    records: dict[str, RunRecord] = {}
    limits = {n: (b.spec.requests_per_minute, b.spec.tokens_per_minute) for n, b in backends.items()}
    limiter: Any = ray.remote(num_cpus=0)(_Limiter).remote(limits)
    n_workers = ray_spec.workers or max(min(2, concurrency), math.ceil(concurrency / 8))
    per_worker = math.ceil(concurrency / n_workers)
    worker_cls = ray.remote(_Worker).options(num_cpus=ray_spec.num_cpus, max_concurrency=per_worker + 1)

    def spawn() -> Any:
        return worker_cls.remote(settings, backends, limiter)

    workers = [spawn() for _ in range(n_workers)]
    t0 = time.monotonic()
    ray.get([w.ready.remote() for w in workers])
    _emit(progress, "workers_ready", workers=n_workers, seconds=time.monotonic() - t0)
    load = [0] * n_workers
    generation = [0] * n_workers
    in_flight: dict[Any, tuple[PlannedRun, int, int]] = {}
    crashes: dict[str, int] = {}
    queue = deque(pending)
    base_tokens = budget.spent

    def sync_tokens() -> None:
        calls, tokens = ray.get(limiter.stats.remote())
        budget.spent, budget.calls = base_tokens + tokens, calls
        _emit(progress, "tokens", tokens=budget.spent, calls=calls)

    def finish(record: RunRecord) -> None:
        records[record.run_id] = record
        if on_record is not None:
            on_record(record)
        _emit(progress, "run_end", record=record)

    try:
        while queue or in_flight:
            while queue and len(in_flight) < concurrency:
                sync_tokens()
                if budget.exhausted():
                    budget.capped = True
                    _emit(progress, "capped", not_started=len(queue), tokens=budget.total)
                    for later in queue:
                        records[later.run_id] = RunRecord(later.run_id, "capped", action="not_started")
                    queue.clear()
                    break
                run = queue.popleft()
                w = min(range(n_workers), key=load.__getitem__)
                in_flight[workers[w].run.remote(run)] = (run, w, generation[w])
                load[w] += 1
                if run.run_id not in crashes:
                    _emit(progress, "run_start", run_id=run.run_id)
            if not in_flight:
                break
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=POLL_S)
            sync_tokens()
            for ref in ready:
                run, w, gen = in_flight.pop(ref)
                if gen == generation[w]:
                    load[w] -= 1
                try:
                    finish(ray.get(ref))
                except RayActorError as exc:  # the worker died: replace it, resume the run
                    crashes[run.run_id] = crashes.get(run.run_id, 0) + 1
                    log.warning("%s: Ray worker died (%s)", run.run_id, type(exc).__name__)
                    if gen == generation[w]:  # one replacement per death, however many runs it held
                        workers[w], generation[w], load[w] = spawn(), gen + 1, 0
                    if crashes[run.run_id] <= settings.retries:
                        queue.appendleft(run)
                    else:
                        finish(
                            RunRecord(run.run_id, "error", attempts=crashes[run.run_id], error=str(exc)[:300])
                        )
                except RayError as exc:
                    finish(RunRecord(run.run_id, "error", attempts=1, error=" ".join(str(exc).split())[:300]))
    finally:
        for worker in workers:
            try:
                ray.get(worker.close.remote(), timeout=30)
            except Exception:  # a dead worker has nothing left to close
                log.debug("closing a Ray worker failed", exc_info=True)
            ray.kill(worker)
        ray.kill(limiter)
        if started_here:
            ray.shutdown()
    return records
