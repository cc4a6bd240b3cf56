"""``harness report``: the single-file offline HTML review report of one or more runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

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
    """Write one self-contained HTML report: transcript, position cards, divergence plots, summary."""
    from harness.report import write_report

    path = write_report(runs, output, root=out)
    console.print(f"report written to [bold]{path}[/bold]", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
