"""``harness report``: the single-file offline HTML review report of one or more runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.errors import ConfigError

console = Console()


def report(
    runs: Annotated[
        list[str], typer.Argument(metavar="RUN", help="Run ids, run folders or transcript.jsonl files.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="HTML file to write (default: report.html in the run folder; required for several runs).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Root folder of run folders (for run ids).")] = Path(
        "transcripts"
    ),
) -> None:
    """Write one self-contained HTML report: transcript, position cards, divergence plots, summary.

    A batch folder (with index.csv) reports its completed runs, with the research section when
    `harness sensitivity`, `fidelity` or `harmony` wrote results there."""
    from harness.report import write_batch_report, write_report

    if len(runs) == 1 and (Path(runs[0]) / "index.csv").is_file():
        batch_path = write_batch_report(Path(runs[0]), output)
        if batch_path is None:
            raise ConfigError(f"{runs[0]}: no completed run in this batch yet")
        console.print(f"report written to [bold]{batch_path}[/bold]", highlight=False)
        return
    path = write_report(runs, output, root=out)
    console.print(f"report written to [bold]{path}[/bold]", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
