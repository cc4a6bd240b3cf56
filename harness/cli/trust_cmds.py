"""``harness validate-scorer`` (agreement with gold labels, optionally saved for the report) and
``harness calibrate-judge`` (a judge model's calibration fitted on a training split)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from harness.cli import eval_cmds
from harness.cli.eval_cmds import (
    CalibrationOpt,
    CodebookOpt,
    ConcurrencyOpt,
    JudgeBackendOpt,
    JudgeModelOpt,
    JudgeUrlOpt,
    PanelOpt,
    RubricsOpt,
    SamplesOpt,
    ScorerOpt,
    _build,
    _close,
    _fmt,
    _print_panel,
    console,
    err_console,
)
from harness.errors import ConfigError

GoldOpt = Annotated[Path, typer.Option("--gold", help="Gold JSONL (id, axis, delegation, level, text).")]
FIGURES = ("exact_accuracy", "na_accuracy", "coverage", "kappa", "alpha", "mean_signed_error")


def validate_scorer(
    gold: GoldOpt,
    scorer: ScorerOpt = "rules",
    rubrics: RubricsOpt = None,
    codebook: CodebookOpt = None,
    judge_backend: JudgeBackendOpt = None,
    judge_base_url: JudgeUrlOpt = None,
    judge_model: JudgeModelOpt = None,
    samples: SamplesOpt = 1,
    concurrency: ConcurrencyOpt = 4,
    calibration: CalibrationOpt = None,
    panel: PanelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    save: Annotated[
        bool, typer.Option("--save", help="Save the figures for the report (<save-dir>/<scorer>.json).")
    ] = False,
    save_dir: Annotated[
        Path | None, typer.Option("--save-dir", help="Where --save writes (default: the package's).")
    ] = None,
    gold_name: Annotated[
        str | None, typer.Option("--gold-name", help="The gold set's name (default: its folder's).")
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", help="The split (default: the file's stem).")
    ] = None,
) -> None:
    """Agreement of a scorer with gold labels: kappa, alpha, NA accuracy, coverage, confusion."""
    from evals.reliability import gold_source
    from evals.reliability import validate_scorer as run_validation
    from evals.rubrics import load_rubrics
    from evals.scorers import scorer_info
    from evals.scorers.panel import PanelScorer, validate_panel
    from evals.validation_store import records_from_report, save_records

    if panel == "none":
        raise ConfigError("--panel none: validation needs one score per statement (majority, mean or pool)")
    if panel is None and scorer_info(scorer).needs_models:
        panel = "majority"  # a panel's members make one score per statement (one model: its own)
    axes = load_rubrics(rubrics)  # default: the bundled rubrics
    judge = (judge_backend or [], judge_base_url or [], judge_model or [])
    options = {"calibration": calibration, "combine": panel}
    impl, models = _build(scorer, codebook, judge, samples, concurrency, False, options)
    err_console.print(f"validating {scorer} against {gold}…", highlight=False)
    try:
        if isinstance(impl, PanelScorer):
            report = validate_panel(gold, impl, axes)
        else:
            report = run_validation(gold, impl, axes)
    finally:
        _close(models)
    source = gold_source(gold, gold_name, split)
    report["gold_name"], report["split"] = source.name, source.split
    cal = getattr(impl, "calibration", None)
    report["calibration"] = cal.id if cal is not None else None
    if save:
        records = records_from_report(report, source, calibration=report["calibration"], samples=samples)
        for path in save_records(records, save_dir):
            err_console.print(f"saved to {path}", highlight=False)
    if as_json:
        typer.echo(json.dumps(report))
        return
    _print_validation(report, gold)


def _print_validation(report: dict[str, Any], gold: Path) -> None:
    name = report["scorer"] + (f" ({report['model']})" if report.get("model") else "")
    table = Table(
        "axis",
        "n",
        "exact",
        "NA acc",
        "coverage",
        "kappa (qw)",
        "alpha (ord)",
        "MSE",
        title=f"{name} vs {gold}",
    )
    for axis, fig in [*report["axes"].items(), ("overall", report["overall"])]:
        table.add_row(axis, str(fig["n"]), *(_fmt(fig[k]) for k in FIGURES))
    console.print(table)
    for axis, fig in report["axes"].items():
        conf = fig["confusion"]
        t = Table("gold \\ scorer", *conf["labels"], title=f"{axis}: confusion")
        for label, row in zip(conf["labels"], conf["matrix"], strict=True):
            t.add_row(label, *(str(c) if c else "·" for c in row))
        console.print(t)
    panel = report.get("panel")
    if panel:
        t = Table(
            "member",
            "n",
            "exact",
            "NA acc",
            "coverage",
            "kappa (qw)",
            "alpha (ord)",
            "MSE",
            title="panel members vs gold",
        )
        for model, r in panel["members"].items():
            t.add_row(model, str(r["overall"]["n"]), *(_fmt(r["overall"][k]) for k in FIGURES))
        console.print(t)
        from evals.scorers.panel import PanelAgreement

        _print_panel(
            [PanelAgreement(axis, **a) for axis, a in panel["agreement"].items()],
            f"agreement between the members ({panel['combine']} makes the panel's score)",
        )


def calibrate_judge(
    gold: GoldOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Calibration file to write (JSON).")],
    rubrics: RubricsOpt = None,
    judge_backend: JudgeBackendOpt = None,
    judge_base_url: JudgeUrlOpt = None,
    judge_model: JudgeModelOpt = None,
    samples: SamplesOpt = 1,
    concurrency: ConcurrencyOpt = 4,
    min_support: Annotated[
        int, typer.Option("--min-support", min=1, help="Raw levels seen fewer times keep their level.")
    ] = 3,
) -> None:
    """Fit each judge model's calibration (a monotone map of its levels) from its confusion on gold rows."""
    from evals.calibration import calibrate_models, write_calibration
    from evals.rubrics import load_rubrics
    from harness.schema import LEVELS

    if not (judge_model or judge_backend):
        raise ConfigError("calibrate-judge needs a judge: give --judge-backend/--judge-model")
    axes = load_rubrics(rubrics)
    models = eval_cmds._judge_models(judge_backend or [], judge_base_url or [], judge_model or [])
    err_console.print(f"calibrating {', '.join(m.model for m in models)} on {gold}…", highlight=False)
    try:
        fitted = calibrate_models(
            gold, models, axes, samples=samples, concurrency=concurrency, min_support=min_support
        )
    finally:
        _close(models)
    write_calibration(output, fitted)
    for model, m in fitted.models.items():
        table = Table(
            "raw level",
            "→ calibrated",
            "rows",
            title=f"{model}: calibration from {gold} ({m.n_pairs} rows with levels)",
        )
        for lv in LEVELS:
            table.add_row(str(lv), str(m.mapping[lv]), str(m.support[lv]))
        console.print(table)
    console.print(
        f"wrote {output}; apply it with: harness score RUN --scorer judge --calibration {output}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("validate-scorer")(validate_scorer)
    app.command("calibrate-judge")(calibrate_judge)
