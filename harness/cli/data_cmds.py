"""``harness validate`` and ``harness schemas``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from harness.errors import DataError

console = Console()
err_console = Console(stderr=True)


def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(help="YAML files or folders (a workspace, personas/, scenarios/, rubrics/…)."),
    ],
) -> None:
    """Validate scenario, persona, rubric, experiment and codebook files and their cross-references."""
    from harness.validate import validate_paths

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
    from harness.loaders import json_schemas
    from harness.validate import file_models

    out.mkdir(parents=True, exist_ok=True)
    for kind, text in json_schemas(file_models()).items():
        (out / f"{kind}.schema.json").write_text(text, encoding="utf-8")
        console.print(f"wrote {escape(str(out / f'{kind}.schema.json'))}", highlight=False, soft_wrap=True)


def scenarios() -> None:
    """List the bundled scenarios (`harness run ID` runs one)."""
    from rich.table import Table

    from harness.loaders import load_scenario
    from harness.resources import bundled_scenarios

    table = Table(title="bundled scenarios")
    table.add_column("id", no_wrap=True)
    for name in ("title", "moves", "delegations", "axes"):
        table.add_column(name)
    for sid, path in bundled_scenarios().items():
        sc = load_scenario(path)
        table.add_row(
            sid, sc.title, str(len(sc.moves)), " ".join(d.id for d in sc.delegations), " ".join(sc.axes)
        )
    console.print(table)
    console.print("run one with: harness run ID   ·   edit copies with: harness init DIR", highlight=False)


def init(
    folder: Annotated[Path, typer.Argument(help="Folder for the new workspace (empty or absent).")],
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder.")] = False,
) -> None:
    """Write an editable workspace: scenarios, personas, rubrics, prompts, codebook, harness.toml."""
    from harness.workspace import init_workspace

    result = init_workspace(folder, force=force)
    console.print(
        f"[green]wrote[/green] {len(result.written)} files to {escape(str(folder))}", highlight=False
    )
    console.print(
        f"next: harness validate {escape(str(folder))}  ·  "
        f"harness run {escape(str(folder / 'scenarios' / 'smoke.yaml'))}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schemas")(schemas)
    app.command("scenarios")(scenarios)
    app.command("init")(init)
