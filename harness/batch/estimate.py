"""How many model calls a scenario takes, its critical path, and the tokens a batch will cost.

Calls follow the graph (docs/design.md) along the scenario's default path (each move's "otherwise" successor:
a branch taken at run time can shorten or lengthen a run). Per move and delegation: ``caucus_rounds`` ×
members turns and one position card; then one report per delegation; then per plenary round one
question and one answer per delegation (with two or more delegations); Control's narration when on;
after the last move one hot-wash statement per delegation.

The **critical path** is the longest chain of calls that must happen one after another: per move the
slowest delegation's caucus (its turns and card, in sequence), then the reports (parallel), then per
plenary round a question and an answer, the narration; plus the hot-wash.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from harness.schema import Move, Scenario
from harness.transcript import TRANSCRIPT_NAME, Run


@dataclass(frozen=True)
class CallCount:
    calls: int
    critical_path: int
    moves: int


def default_path(scenario: Scenario) -> list[Move]:
    """The moves played when no branch condition holds."""
    return list(scenario.moves)


def scenario_calls(scenario: Scenario, *, narrate: bool = False, moves: list[str] | None = None) -> CallCount:
    """Calls and critical path along ``moves`` (move ids actually played) or the default path."""
    n = len(scenario.delegations)
    calls = critical = 0
    path = default_path(scenario) if moves is None else [scenario.move(m) for m in moves]
    for move in path:
        caucus = [move.caucus_rounds * len(d.members) + 1 for d in scenario.delegations]
        plenary_rounds = move.plenary_rounds if n > 1 else 0
        calls += sum(caucus) + n + 2 * n * plenary_rounds + int(narrate)
        critical += max(caucus, default=0) + 1 + 2 * plenary_rounds + int(narrate)
    calls += n
    critical += 1
    return CallCount(calls=calls, critical_path=critical, moves=len(path))


@dataclass(frozen=True)
class TokenRate:
    tokens_per_call: float
    source: str  # "default" or "N finished runs"


def observed_tokens_per_call(out_dir: Path, scenario_id: str, limit: int = 50) -> tuple[float, int] | None:
    """Mean tokens per call over finished runs of ``scenario_id`` under ``out_dir`` (newest first)."""
    if not out_dir.is_dir():
        return None
    rates: list[float] = []
    folders = sorted(
        (p for p in out_dir.iterdir() if (p / TRANSCRIPT_NAME).is_file()),
        key=lambda p: (p / TRANSCRIPT_NAME).stat().st_mtime,
        reverse=True,
    )
    for folder in folders:
        try:
            run = Run.load(folder)
        except Exception:  # an unreadable run says nothing about token rates
            continue
        end = run.run_end()
        if run.manifest.scenario.id != scenario_id or end is None or end.status != "completed":
            continue
        if end.totals.calls:
            rates.append((end.totals.prompt_tokens + end.totals.completion_tokens) / end.totals.calls)
        if len(rates) >= limit:
            break
    return (statistics.fmean(rates), len(rates)) if rates else None


def token_rate(out_dir: Path, scenario_id: str, default: int) -> TokenRate:
    seen = observed_tokens_per_call(out_dir, scenario_id)
    if seen is None:
        return TokenRate(float(default), "default")
    rate, n = seen
    return TokenRate(rate, f"{n} finished run{'s' if n != 1 else ''}")
