"""``harness validate`` and ``harness schemas``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from harness.errors import DataError
from harness.loaders import json_schemas
from harness.validate import validate_paths

console = Console()
err_console = Console(stderr=True)


def validate(
    paths: Annotated[
        list[Path], typer.Argument(help="YAML files or folders (personas/, scenarios/, rubrics).")
    ],
) -> None:
    """Validate scenario, persona and rubric files and their cross-references."""
    report = validate_paths(paths)
    for err in report.errors:
        err_console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
    counts = ", ".join(f"{len(v)} {k}{'s' if len(v) != 1 else ''}" for k, v in sorted(report.checked.items()))
    if report.errors:
        err_console.print(f"{len(report.errors)} problem(s); checked {counts or 'nothing'}")
        raise typer.Exit(code=DataError.exit_code)
    console.print(f"[green]ok[/green]: {counts}")


def schemas(
    out: Annotated[Path, typer.Option("--out", help="Folder to write <kind>.schema.json into.")] = Path(
        "schemas"
    ),
) -> None:
    """Write the JSON Schemas that the YAML files' `$schema` headers point at."""
    out.mkdir(parents=True, exist_ok=True)
    for kind, text in json_schemas().items():
        (out / f"{kind}.schema.json").write_text(text, encoding="utf-8")
        console.print(f"wrote {escape(str(out / f'{kind}.schema.json'))}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schemas")(schemas)
