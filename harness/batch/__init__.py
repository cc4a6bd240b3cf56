"""Batch experiments: a grid of runs from an experiment file, run locally or on Ray, indexed and summarised.

``load_experiment`` → ``build_plan`` → ``run_batch`` (skips finished runs, resumes the rest) → the batch
folder's ``index.csv``/``index.parquet`` and ``summary.json``/``summary.csv``; ``compare`` contrasts two
conditions. The command line is ``harness batch`` and ``harness compare``.
"""

from __future__ import annotations

from harness.batch.compare import compare
from harness.batch.driver import BatchResult, PlanEstimate, estimate_plan, run_batch
from harness.batch.estimate import CallCount, scenario_calls
from harness.batch.plan import Condition, Plan, PlannedRun, build_plan
from harness.batch.ratelimit import RateLimiter, TokenBucket
from harness.batch.spec import Experiment, load_experiment
from harness.batch.worker import RunRecord

__all__ = [
    "BatchResult",
    "CallCount",
    "Condition",
    "Experiment",
    "Plan",
    "PlanEstimate",
    "PlannedRun",
    "RateLimiter",
    "RunRecord",
    "TokenBucket",
    "build_plan",
    "compare",
    "estimate_plan",
    "load_experiment",
    "run_batch",
    "scenario_calls",
]
