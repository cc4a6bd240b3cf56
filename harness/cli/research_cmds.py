"""``harness sensitivity``, ``harness fidelity`` and ``harness harmony``: the research instrument."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.cli.batch_cmds import BatchProgress, ExecutorName
from harness.errors import ConfigError

console = Console()
err_console = Console(stderr=True)


class ExperimentName(StrEnum):
    identity_swap = "identity-swap"
    persona_ablation = "persona-ablation"
    brief_ablation = "brief-ablation"
    model = "model"


class SwapWhat(StrEnum):
    names = "names"
    briefs = "briefs"
    both = "both"


class PersonaMode(StrEnum):
    minimal = "minimal"
    neutral = "neutral"


class CorrectionName(StrEnum):
    holm = "holm"
    bh = "bh"


def _fmt(x: Any, digits: int = 2, signed: bool = False) -> str:
    if x is None:
        return "—"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError as exc:
        raise ConfigError(f"--seeds {text!r}: expected integers separated by commas, e.g. 1,2,3") from exc
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r}: give at least one seed, each once")
    return seeds


def _is_experiment_file(ref: str) -> bool:
    path = Path(ref)
    if not path.is_file() or path.suffix not in (".yaml", ".yml"):
        return False
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, OSError):
        return False  # not read as an experiment: the scenario loader reports what is wrong with it
    return isinstance(data, dict) and "sensitivity" in data and "backends" in data


def sensitivity(
    scenario: Annotated[
        str,
        typer.Argument(
            help="Scenario file or bundled scenario id; or an experiment file with a sensitivity block."
        ),
    ],
    experiment: Annotated[
        ExperimentName | None, typer.Option("--experiment", "-e", help="Which contrast to run.")
    ] = None,
    swap: Annotated[
        str | None, typer.Option("--swap", help="identity-swap: two delegation ids, e.g. US,JPN.")
    ] = None,
    swap_what: Annotated[
        SwapWhat, typer.Option("--swap-what", help="identity-swap: exchange names, briefs or both.")
    ] = SwapWhat.names,
    ablate: Annotated[
        list[str] | None,
        typer.Option("--ablate", help="Ablation: a delegation to ablate (repeat; default all)."),
    ] = None,
    persona_mode: Annotated[
        PersonaMode,
        typer.Option("--persona-mode", help="persona-ablation: minimal (name, title) or neutral."),
    ] = PersonaMode.minimal,
    model_for: Annotated[
        list[str] | None, typer.Option("--model-for", help="model: DEL=MODEL in the treatment (repeatable).")
    ] = None,
    reps: Annotated[int, typer.Option("--reps", min=1, help="Repetitions per seed and condition.")] = 8,
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds, comma-separated.")] = "1",
    temperature: Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")] = None,
    backend: Annotated[str | None, typer.Option("--backend", help="Backend profile.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name at the backend.")] = None,
    scorer: Annotated[str, typer.Option("--scorer", help="Whose levels the effects use.")] = "stated",
    correction: Annotated[
        CorrectionName, typer.Option("--correction", help="Multiple-testing correction: holm or bh.")
    ] = CorrectionName.holm,
    n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Bootstrap resamples per effect.")] = 2000,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Experiment folder (default transcripts/<scenario>-<condition>)."),
    ] = None,
    executor: Annotated[ExecutorName, typer.Option("--executor", help="local or ray.")] = ExecutorName.local,
    max_concurrency: Annotated[int, typer.Option("--max-concurrency", min=1, help="Runs in flight.")] = 4,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write report.html with the sensitivity section.")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run a sensitivity experiment (baseline vs derived condition) and read its effects."""
    from pydantic import ValidationError

    from harness.batch.spec import BackendSpec, load_experiment
    from harness.cli.run_cmds import _parse_model_for
    from harness.loaders import load_scenario
    from harness.research.sensitivity import run_sensitivity, sensitivity_experiment
    from harness.research.spec import SensitivitySpec
    from harness.resources import find_scenario

    if _is_experiment_file(scenario):
        exp = load_experiment(scenario)
        if experiment is not None:
            raise ConfigError(f"{scenario} is an experiment file: its sensitivity block says what to run")
        sid = load_scenario(exp.scenarios[0]).id
    else:
        if experiment is None:
            raise ConfigError("--experiment is required with a scenario (identity-swap, persona-ablation, …)")
        path = find_scenario(scenario)
        sid = load_scenario(path).id
        try:
            spec = SensitivitySpec(
                experiment=experiment.value,
                swap=[s.strip() for s in swap.split(",")] if swap else [],
                swap_what=swap_what.value,
                ablate=list(ablate or []),
                persona_mode=persona_mode.value,
                model_for=_parse_model_for(model_for),
                scorer=scorer,
                correction=correction.value,
                n_boot=n_boot,
            )
        except ValidationError as exc:
            raise ConfigError(f"--experiment {experiment.value}: {exc.errors()[0]['msg']}") from exc
        name = backend or "default"
        exp = sensitivity_experiment(
            path,
            spec,
            backend=BackendSpec(name=name, profile=backend, base_url=base_url, model=model),
            seeds=_seeds(seeds),
            reps=reps,
            temperature=temperature,
            concurrency=max_concurrency,
        )
    assert exp.sensitivity is not None
    folder = out if out is not None else Path("transcripts") / f"{sid}-{exp.sensitivity.experiment}"
    with BatchProgress(enabled=not quiet and err_console.is_terminal) as display:
        result = run_sensitivity(
            exp, folder.resolve(), executor=executor.value, concurrency=max_concurrency, progress=display.hook
        )
    print_sensitivity(result.analysis)
    batch = result.batch
    bad = [r for r in batch.records.values() if r.status != "completed"]
    console.print(
        f"{len(batch.records)} runs ({batch.skipped} done before, {len(bad)} not completed) · "
        f"{batch.budget.spent:,} tokens this time · {batch.wall_s:.1f} s · {escape(str(folder))}",
        highlight=False,
    )
    if report:
        from harness.report import write_batch_report

        written = write_batch_report(folder.resolve())
        if written is not None:
            console.print(f"report: {escape(str(written))}", highlight=False)
    for r in bad[:10]:
        err_console.print(f"[red]{r.run_id}[/red]: {r.status}: {escape(r.error)}")
    if bad:
        raise typer.Exit(1)


def print_sensitivity(a: dict[str, Any]) -> None:
    conds = " vs ".join(f"{c['name']} ({c['runs']} runs)" for c in a["conditions"])
    table = Table(
        "delegation",
        "axis",
        "base",
        "treat",
        "Δ [95% CI]",
        "W1",
        f"p {a['correction']['method']}",
        title=f"{a['experiment']}: {conds} · {a['scorer']} levels",
    )
    for c in a["cells"]:
        style = "bold red" if c["significant"] else ""
        table.add_row(
            c["delegation"],
            c["axis"],
            _fmt(c["mean_a"]),
            _fmt(c["mean_b"]),
            f"{_fmt(c['diff'], signed=True)} [{_fmt(c['low'], signed=True)}, {_fmt(c['high'], signed=True)}]",
            _fmt(c["w1"]),
            _fmt(c["p_adjusted"], 3),
            style=style,
        )
    console.print(table)
    console.print(f"[bold]verdict:[/bold] {escape(a['verdict']['line'])}", highlight=False)
    console.print(f"power: {escape(a['power']['text'])}", highlight=False)
    if "warning" in a["power"]:
        console.print(f"[yellow]{escape(a['power']['warning'])}[/yellow]", highlight=False)


RunArg = Annotated[
    str, typer.Argument(metavar="RUN|BATCH", help="A run (id, folder, transcript) or a batch folder.")
]
RootOpt = Annotated[Path, typer.Option("--out", help="Root folder of run folders (for run ids).")]


def fidelity(
    ref: RunArg,
    scorer: Annotated[str, typer.Option("--scorer", help="Whose levels are checked.")] = "stated",
    majority: Annotated[
        float, typer.Option("--majority", min=0.0, max=1.0, help="Share of runs a finding must hold in.")
    ] = 0.5,
    n_boot: Annotated[int, typer.Option("--n-boot", min=1, help="Bootstrap resamples.")] = 1000,
    out: RootOpt = Path("transcripts"),
) -> None:
    """Score the scenario's expected findings (reproduced / not / undetermined) and prior deviations."""
    from harness.research.fidelity import FIDELITY_JSON
    from harness.research.fidelity import fidelity as run_fidelity

    result = run_fidelity(ref, root=out, scorer=scorer, majority=majority, n_boot=n_boot)
    for cond in result["conditions"]:
        print_fidelity(cond, scorer)
    console.print(f"wrote {FIDELITY_JSON} beside the runs", highlight=False)


def print_fidelity(cond: dict[str, Any], scorer: str) -> None:
    if not cond["findings"]:
        console.print(f"[yellow]{escape(cond['scenario'])} declares no expected_findings[/yellow]")
    else:
        table = Table(
            "finding",
            "status",
            "runs",
            "share [95% CI]",
            "margin [95% CI]",
            title=f"fidelity of {cond['condition']} ({cond['runs']} runs, {scorer} levels)",
        )
        colour = {"reproduced": "green", "not reproduced": "red", "undetermined": "yellow"}
        for f in cond["findings"]:
            share = _fmt(f["share"]) + (
                f" [{_fmt(f['share_low'])}, {_fmt(f['share_high'])}]" if f["share_low"] is not None else ""
            )
            margin = _fmt(f["margin"], signed=True) + (
                f" [{_fmt(f['margin_low'], signed=True)}, {_fmt(f['margin_high'], signed=True)}]"
                if f["margin_low"] is not None
                else ""
            )
            table.add_row(
                f["id"],
                f"[{colour[f['status']]}]{f['status']}[/]",
                f"{f['runs_holding']}/{f['runs_determined']}",
                share,
                f"{margin} {f['margin_unit']}",
            )
        console.print(table)
        for f in cond["findings"]:
            console.print(f"  {f['id']}: {escape(f['statement'])} ({escape(f['source'])})", highlight=False)
    if cond["priors"]:
        table = Table(
            "delegation",
            "axis",
            "prior",
            "mean level",
            "deviation [95% CI]",
            title="deviation from stance priors",
        )
        for r in cond["priors"]:
            ci = (
                f" [{_fmt(r['low'], signed=True)}, {_fmt(r['high'], signed=True)}]"
                if r["low"] is not None
                else ""
            )
            table.add_row(
                r["delegation"],
                r["axis"],
                str(r["prior"]),
                _fmt(r["mean_level"]),
                _fmt(r["deviation"], signed=True) + ci,
            )
        console.print(table)


def harmony(
    ref: Annotated[
        str | None,
        typer.Argument(metavar="[RUN|BATCH]", help="A run or a batch folder (omit with --validate)."),
    ] = None,
    validate: Annotated[
        bool, typer.Option("--validate", help="Print the classifier's agreement with the hand labels.")
    ] = False,
    n_boot: Annotated[int, typer.Option("--n-boot", min=1, help="Bootstrap resamples.")] = 1000,
    out: RootOpt = Path("transcripts"),
) -> None:
    """Harmony index: how often plenary exchanges disagree, set against position-card divergence."""
    from harness.research.harmony import classifier_figures
    from harness.research.harmony import harmony as run_harmony

    if validate:
        print_classifier(classifier_figures())
    if ref is None:
        if not validate:
            raise ConfigError("give a run or batch folder, or --validate")
        return
    result = run_harmony(ref, root=out, n_boot=n_boot)
    for cond in result["conditions"]:
        table = Table(
            "move",
            "pair",
            "exchanges",
            "agree",
            "disagree",
            "neutral",
            "disagreement",
            "card distance",
            "flag",
            title=f"harmony of {cond['condition']} ({cond['runs']} runs)",
        )
        for c in cond["cells"]:
            table.add_row(
                c["move"],
                "–".join(c["pair"]),
                str(c["exchanges"]),
                str(c["agree"]),
                str(c["disagree"]),
                str(c["neutral"]),
                _fmt(c["disagreement"]),
                _fmt(c["card_distance"]),
                f"[yellow]{c['flag'].split(',')[0]}[/yellow]" if c["flag"] else "",
            )
        console.print(table)
        for pair, iv in cond["pairs"].items():
            ci = f" [{_fmt(iv['low'])}, {_fmt(iv['high'])}]" if iv["low"] is not None else ""
            console.print(
                f"{pair}: disagreement {_fmt(iv['estimate'])}{ci} over {iv['n_runs']} runs", highlight=False
            )


def print_classifier(figures: dict[str, Any]) -> None:
    table = Table(
        "part",
        "pairs",
        "accuracy",
        "kappa",
        "agree P/R",
        "disagree P/R",
        "neutral P/R",
        title="harmony classifier vs hand labels",
    )
    for part, f in figures.items():
        pr = [
            f"{_fmt(f['per_label'][lb]['precision'])}/{_fmt(f['per_label'][lb]['recall'])}"
            for lb in ("agree", "disagree", "neutral")
        ]
        table.add_row(part, str(f["n"]), _fmt(f["accuracy"]), _fmt(f["kappa"]), *pr)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("sensitivity")(sensitivity)
    app.command("fidelity")(fidelity)
    app.command("harmony")(harmony)
