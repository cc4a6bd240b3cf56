"""``harness batch`` (a grid of runs from an experiment file) and ``harness compare`` (two conditions)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table

from harness.errors import ConfigError

console = Console()
err_console = Console(stderr=True)

DRY_RUN_ROWS = 40


class ExecutorName(StrEnum):
    local = "local"
    ray = "ray"


def _fmt(x: Any, digits: int = 3) -> str:
    return "—" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


class BatchProgress:
    """A rich progress bar over the runs still to do: ETA, tokens so far, failures."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("· {task.fields[tokens]:,} tokens · {task.fields[note]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err_console,
            disable=not enabled,
            transient=False,
        )
        self.task = self.progress.add_task("runs", total=None, tokens=0, note="", start=False)
        self.failed = 0
        self.skipped = 0

    def __enter__(self) -> BatchProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def _note(self) -> str:
        parts = [f"{self.skipped} done before"] if self.skipped else []
        if self.failed:
            parts.append(f"[red]{self.failed} not completed[/red]")
        return ", ".join(parts)

    def hook(self, what: str, info: dict[str, Any]) -> None:
        if what == "plan":
            self.skipped = int(info["skipped"])
            self.progress.update(self.task, total=info["pending"], note=self._note())
            self.progress.start_task(self.task)
        elif what == "tokens":
            self.progress.update(self.task, tokens=int(info["tokens"]))
        elif what == "run_end":
            if info["record"].status != "completed":
                self.failed += 1
            self.progress.update(self.task, advance=1, note=self._note())
        elif what == "capped":
            self.progress.update(
                self.task, note=f"[yellow]token cap reached: {info['not_started']} not started"
            )


def _dry_run(plan: Any, out: Path, cap: int | None, quiet: bool) -> None:
    from harness.batch import estimate_plan

    est = estimate_plan(plan, out)
    if not quiet:
        runs = Table(
            Column("run id", overflow="fold"),
            Column("condition", overflow="fold"),
            "seed",
            "rep",
            "calls",
            "state",
            title=f"plan of {plan.experiment.id}",
        )
        for run in plan.runs[:DRY_RUN_ROWS]:
            state = "done" if run.run_id in est.done_ids else "to do"
            runs.add_row(run.run_id, run.condition.label, str(run.seed), str(run.rep), str(run.calls), state)
        console.print(runs)
        if len(plan.runs) > DRY_RUN_ROWS:
            console.print(f"… and {len(plan.runs) - DRY_RUN_ROWS} more runs")
        table = Table(
            Column("condition", overflow="fold"),
            "runs",
            "done",
            "calls to do",
            "tokens/call",
            "tokens (est.)",
        )
        for c in est.conditions:
            rate = f"{c.tokens_per_call:,.0f} ({c.rate_source})"
            table.add_row(c.condition, str(c.runs), str(c.done), f"{c.calls:,}", rate, f"{c.tokens:,}")
        console.print(table)
    console.print(
        f"dry run: {est.runs} runs ({est.runs - est.todo} done, {est.todo} to do), "
        f"{est.calls:,} model calls, ≈ {est.tokens:,} tokens; nothing was spent",
        highlight=False,
    )
    if cap is not None and est.tokens > cap:
        console.print(f"[yellow]--max-total-tokens {cap:,} will stop the batch before it ends[/yellow]")


def batch(
    experiment: Annotated[Path, typer.Argument(help="Experiment YAML file (the grid).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Batch folder (default transcripts/<experiment id>).")
    ] = None,
    executor: Annotated[ExecutorName, typer.Option("--executor", help="local (asyncio) or ray.")] = (
        ExecutorName.local
    ),
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster, e.g. ray://head:10001 or auto.")
    ] = None,
    max_concurrency: Annotated[
        int | None, typer.Option("--max-concurrency", min=1, help="Runs in flight at once.")
    ] = None,
    max_total_tokens: Annotated[
        int | None, typer.Option("--max-total-tokens", min=1, help="Start no run once this many are spent.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the runs, calls and a token estimate; run nothing.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (for scripts).")] = False,
) -> None:
    """Run a grid of simulations (resumable), score them and summarise divergence per condition."""
    from harness.batch import build_plan, load_experiment, run_batch

    exp = load_experiment(experiment)
    if exp.sensitivity is not None:
        raise ConfigError(
            f"{experiment} is a sensitivity experiment: run it with `harness sensitivity {experiment}`"
        )
    folder = out if out is not None else Path("transcripts") / exp.id
    if ray_address is not None and executor is not ExecutorName.ray:
        raise ConfigError("--ray-address needs --executor ray")
    cap = max_total_tokens if max_total_tokens is not None else exp.max_total_tokens
    if dry_run:
        _dry_run(build_plan(exp), folder, cap, quiet)
        return
    with BatchProgress(enabled=not quiet and err_console.is_terminal) as display:
        result = run_batch(
            exp,
            folder.resolve(),
            executor=executor.value,
            concurrency=max_concurrency,
            max_total_tokens=max_total_tokens,
            ray_address=ray_address,
            progress=display.hook,
        )
    _report(result, quiet)
    if any(r.status not in ("completed", "capped") for r in result.records.values()):
        raise typer.Exit(1)


def _report(result: Any, quiet: bool) -> None:
    counts: dict[str, int] = {}
    for r in result.records.values():
        counts[r.status] = counts.get(r.status, 0) + 1
    status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    console.print(
        f"batch {result.plan.experiment.id}: {len(result.records)} runs ({status}; {result.skipped} done "
        f"before, {result.retried} retried) · {result.budget.spent:,} tokens this time · "
        f"{result.wall_s:.1f} s · {result.executor}",
        highlight=False,
    )
    if result.budget.capped:
        console.print(
            f"[yellow]token cap {result.budget.cap:,} reached at {result.budget.total:,} tokens: "
            f"{counts.get('capped', 0)} runs not started (run the batch again with a higher cap)[/yellow]"
        )
    bad = [r for r in result.records.values() if r.status not in ("completed", "capped")]
    for r in bad[:10]:
        err_console.print(f"[red]{r.run_id}[/red]: {r.status} after {r.attempts} attempt(s): {r.error}")
    if not quiet:
        for path in result.files:
            console.print(f"wrote {path}", highlight=False)


def compare_cmd(
    a: Annotated[str, typer.Argument(metavar="A", help="Condition label or run-id prefix.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Condition label or run-id prefix.")],
    batch_dir: Annotated[
        Path, typer.Option("--batch", "-b", help="The batch folder (with index.csv).")
    ] = Path("."),
    scorer: Annotated[
        str, typer.Option("--scorer", help="Which scores/<scorer>.jsonl to compare.")
    ] = "rules",
    n_boot: Annotated[int, typer.Option("--n-boot", min=1, help="Bootstrap resamples.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the comparison as JSON.")
    ] = None,
) -> None:
    """Contrast two conditions of a batch per axis and delegation pair (paired by seed where possible)."""
    from harness.batch import compare

    result = compare(batch_dir, a, b, scorer=scorer, n_boot=n_boot, seed=seed)
    table = Table(
        "axis",
        "pair",
        "A mean",
        "B mean",
        "B − A",
        "95% CI",
        "p (holm)",
        "n",
        "method",
        title=f"{scorer} distance: B={b} vs A={a}",
    )
    for c in result["contrasts"]:
        ci = f"[{_fmt(c['low'])}, {_fmt(c['high'])}]" if c["low"] is not None else "—"
        n = f"{c['n_pairs']} pairs" if c["method"] == "paired" else f"{c['n_a']}/{c['n_b']} runs"
        table.add_row(
            c["axis"],
            c["pair"],
            _fmt(c["mean_a"]),
            _fmt(c["mean_b"]),
            _fmt(c["diff"]),
            ci,
            _fmt(c["p_adjusted"]),
            n,
            c["method"],
        )
    console.print(table)
    if output is not None:
        output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        err_console.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)
    app.command("compare")(compare_cmd)
