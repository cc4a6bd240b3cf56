"""``harness score``, ``harness divergence``, ``harness import`` and ``harness scorers``; the shared scorer
options (``harness validate-scorer`` and ``harness calibrate-judge`` are in :mod:`harness.cli.trust_cmds`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from evals.scorers import DEFAULT_SCORER
from harness.errors import ConfigError, DataError

if TYPE_CHECKING:
    from evals.scorers.base import Scorer
    from evals.scorers.panel import PanelAgreement
    from harness.llm.base import ChatModel

console = Console()
err_console = Console(stderr=True)


ScorerOpt = Annotated[
    str, typer.Option("--scorer", help=f"Scorer name (see `harness scorers`; default {DEFAULT_SCORER}).")
]
RubricsOpt = Annotated[
    Path | None, typer.Option("--rubrics", help="Rubric folder (default: the rubrics the run used).")
]
CodebookOpt = Annotated[
    Path | None,
    typer.Option("--codebook", help="Rules codebook (default: harness.toml [data] codebook, else bundled)."),
]
JudgeBackendOpt = Annotated[
    list[str] | None, typer.Option("--judge-backend", help="Judge backend profile; repeat for a panel.")
]
JudgeUrlOpt = Annotated[
    list[str] | None, typer.Option("--judge-base-url", help="Judge endpoint; repeat for a panel.")
]
JudgeModelOpt = Annotated[
    list[str] | None, typer.Option("--judge-model", help="Judge model; repeat for a panel.")
]
SamplesOpt = Annotated[int, typer.Option("--samples", min=1, help="Judge samples per unit (k).")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, help="Judge calls in flight at once.")]
CalibrationOpt = Annotated[
    Path | None,
    typer.Option("--calibration", help="Judge calibration file (from `harness calibrate-judge`)."),
]


def _fmt(x: Any, digits: int = 2) -> str:
    return "—" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def _judge_models(backends: list[str], urls: list[str], models: list[str]) -> list[ChatModel]:
    """One chat model per panel member; a flag given once applies to every member."""
    from harness.llm.client import build_chat_model
    from harness.llm.config import resolve_backend

    n = max(len(backends), len(urls), len(models), 1)
    for flag, values in (
        ("--judge-backend", backends),
        ("--judge-base-url", urls),
        ("--judge-model", models),
    ):
        if len(values) not in (0, 1, n):
            raise ConfigError(
                f"{flag} given {len(values)} times for a panel of {n}: give it once or {n} times"
            )

    def pick(values: list[str], i: int) -> str | None:
        return values[i] if len(values) == n else (values[0] if values else None)

    return [
        build_chat_model(resolve_backend(pick(backends, i), pick(urls, i), pick(models, i))) for i in range(n)
    ]


def _close(models: list[ChatModel]) -> None:
    for m in models:
        close = getattr(m, "close", None)
        if callable(close):
            close()


def _build(
    name: str,
    codebook: Path | None,
    judge: tuple[list[str], list[str], list[str]],
    samples: int,
    concurrency: int,
    pool: bool,
    options: dict[str, Any] | None = None,
) -> tuple[Scorer, list[ChatModel]]:
    """The scorer ``name`` from the registry; chat models are opened only for a scorer that needs them.

    ``options`` are scorer-specific (a judge's ``calibration`` file and panel ``combine``): given to any
    other scorer they are an error, not silently dropped."""
    from evals.scorers import ScorerSettings, build_scorer, scorer_info
    from harness.datapaths import codebook_path

    info = scorer_info(name)
    options = {k: v for k, v in (options or {}).items() if v is not None}
    if options and not info.needs_models:
        flags = ", ".join(f"--{k}" for k in options)
        raise ConfigError(f"{flags}: only for a judge (scorer {name!r} takes no model)")
    models = _judge_models(*judge) if info.needs_models else []
    settings = ScorerSettings(
        codebook=codebook_path(codebook),
        models=models,
        samples=samples,
        concurrency=concurrency,
        pool=pool,
        options=options,
    )
    try:
        return build_scorer(name, settings), models
    except BaseException:
        _close(models)
        raise


PanelOpt = Annotated[
    str | None,
    typer.Option(
        "--panel",
        help="How a judge panel's members make one score: none (one score per model), pool, majority, mean.",
    ),
]


def score(
    runs: Annotated[list[Path], typer.Argument(help="Run folders or their transcript.jsonl.")],
    scorer: ScorerOpt = DEFAULT_SCORER,
    rubrics: RubricsOpt = None,
    codebook: CodebookOpt = None,
    judge_backend: JudgeBackendOpt = None,
    judge_base_url: JudgeUrlOpt = None,
    judge_model: JudgeModelOpt = None,
    samples: SamplesOpt = 1,
    concurrency: ConcurrencyOpt = 4,
    calibration: CalibrationOpt = None,
    panel: PanelOpt = None,
    pool_panel: Annotated[
        bool, typer.Option("--pool-panel", help="Pool a judge panel into one score (= --panel pool).")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="One JSONL file for all runs.")
    ] = None,
) -> None:
    """Score runs per move, delegation and axis (default: each run's scores/<scorer>.jsonl)."""
    from evals.rubrics import load_rubrics
    from evals.scorers.judge_notes import notes_path
    from evals.scorers.panel import PanelScorer, write_panel_agreement
    from evals.scores_io import scores_path, write_jsonl, write_scores
    from harness.recorded import rubrics_of
    from harness.schema import AxisScore
    from harness.transcript import Run

    loaded = [Run.load(r) for r in runs]
    given = load_rubrics(rubrics) if rubrics is not None else None
    judge = (judge_backend or [], judge_base_url or [], judge_model or [])
    options = {"calibration": calibration, "combine": panel}
    impl, models = _build(scorer, codebook, judge, samples, concurrency, pool_panel, options)
    table = Table("run", "units", "scored", "null", "written to", title=f"{scorer} scores")
    everything: list[AxisScore] = []
    try:
        for run in loaded:
            err_console.print(f"scoring {run.run_id} with {scorer}…", highlight=False)
            scores = impl.score_run(run, given if given is not None else rubrics_of(run.manifest))
            everything += scores
            target = output or scores_path(run.folder, scorer)
            if output is None:
                write_scores(target, scores)
            scored = sum(s.level is not None for s in scores)
            table.add_row(run.run_id, str(len(scores)), str(scored), str(len(scores) - scored), str(target))
    finally:
        _close(models)
    if output is not None:
        write_scores(output, everything)
    targets = {run.run_id: scores_path(run.folder, scorer) for run in loaded}
    notes = getattr(impl, "notes", None)
    if notes and output is not None:
        write_jsonl(notes_path(output), notes)
    elif notes:
        for run_id, path in targets.items():
            write_jsonl(notes_path(path), [n for n in notes if n.run_id == run_id])
    console.print(table)
    if calibration is not None:
        console.print(f"calibrated with {calibration}: scores keep raw_level and name the calibration")
    if not isinstance(impl, PanelScorer) or len({m.model for m in impl.members}) < 2:
        return
    groups = (
        [(output, impl.members)]
        if output is not None
        else [(path, [m for m in impl.members if m.run_id == r]) for r, path in targets.items()]
    )
    for path, rows in groups:
        panel_file, agreement = write_panel_agreement(path, rows, impl.combine)
        _print_panel(agreement, f"agreement between the panel's judges → {panel_file}")


def _print_panel(agreement: Sequence[PanelAgreement], title: str) -> None:
    table = Table("axis", "members", "units", "alpha (ord)", "alpha raw", title=title)
    for a in agreement:
        table.add_row(a.axis, ", ".join(a.models), str(a.n_units), _fmt(a.alpha), _fmt(a.alpha_raw))
    console.print(table)


def _scales_for(files: list[Path]) -> dict[str, tuple[int, ...]]:
    """The level scale of each axis from the rubrics of the runs the score files belong to."""
    from evals.metrics import scales_of
    from harness.errors import HarnessError
    from harness.recorded import rubrics_of
    from harness.transcript import TRANSCRIPT_NAME, Run

    scales: dict[str, tuple[int, ...]] = {}
    for folder in dict.fromkeys(f.parent.parent for f in files):
        if (folder / TRANSCRIPT_NAME).is_file():
            try:
                scales.update(scales_of(rubrics_of(Run.load(folder).manifest)))
            except HarnessError as exc:  # the default 0-4 scale still applies
                err_console.print(f"note: {folder}: rubrics not found ({exc}); using levels 0-4")
    return scales


def divergence(
    inputs: Annotated[list[Path], typer.Argument(help="Score files or run folders.")],
    scorer: Annotated[
        str | None, typer.Option("--scorer", help="Which scores/<scorer>.jsonl of a run folder.")
    ] = None,
    revealed: Annotated[
        str,
        typer.Option(
            "--revealed",
            help="Scorer compared with the position cards (stated) for the stated-vs-revealed gap.",
        ),
    ] = "judge",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="summary.json or summary.csv")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The summaries as one JSON object on stdout.")
    ] = False,
    n_boot: Annotated[int, typer.Option("--n-boot", min=0, help="Bootstrap resamples over runs.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
) -> None:
    """Pairwise divergence per axis and move: its trend, the widest gap, concessions and W1 across runs;
    with position-card (stated) and judge scores, the stated-vs-revealed gap per delegation and axis."""
    from evals.metrics import divergence_summary, gap_rows, gap_summaries, split_by_source, summary_rows
    from evals.scores_io import find_score_files, read_scores, scores_beside

    files = find_score_files(inputs, scorer)
    scores = [s for f in files for s in read_scores(f)]
    if not scores:
        raise DataError(", ".join(map(str, inputs)), "no scores in these files")
    scales = _scales_for(files)
    summaries = [
        divergence_summary(v, scales=scales, n_boot=n_boot, seed=seed)
        for v in split_by_source(scores).values()
    ]
    # with --scorer judge, the cards beside it (scores/stated.jsonl) are read for the gap, not summarised
    beside = [] if scorer in (None, "stated") else scores_beside(inputs, "stated")
    cards = [s for f in beside if f.resolve() not in {g.resolve() for g in files} for s in read_scores(f)]
    gaps = [
        g.to_json()
        for g in gap_summaries(scores + cards, revealed=revealed, scales=scales, n_boot=n_boot, seed=seed)
    ]
    if as_json:
        typer.echo(json.dumps({"summaries": summaries, "gaps": gaps}, ensure_ascii=False))
    else:
        for summary in summaries:
            _print_summary(summary)
        for gap in gaps:
            _print_gap(gap)
    if output is None:
        return
    if output.suffix.lower() == ".csv":
        rows = [{"scorer": s["scorer"], "model": s["model"], **r} for s in summaries for r in summary_rows(s)]
        rows += [{"scorer": g["scorer"], "model": g["model"], **r} for g in gaps for r in gap_rows(g)]
        fields = ["scorer", "model", "axis", "kind", "key", "move", "value", "low", "high"]
        with output.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    elif output.suffix.lower() == ".json":
        output.write_text(
            json.dumps({"summaries": summaries, "gaps": gaps}, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
    else:
        raise ConfigError(f"{output}: -o takes a .json or .csv file")
    err_console.print(f"wrote {output}")


def _print_gap(gap: dict[str, Any]) -> None:
    """Delegations × axes: mean (stated − revealed)/width [95% CI], mean |gap|, units."""
    axes = list(gap["axes"])
    console.print(
        f"stated vs revealed — cards vs {gap['revealed']}: mean (stated − revealed)/width [95% CI] · "
        "mean |gap| · units (> 0: the card claims more than the words show)",
        highlight=False,
        soft_wrap=True,
    )
    table = Table("delegation", *axes)
    delegations = list(dict.fromkeys(d for a in axes for d in gap["axes"][a]))
    for d in delegations:
        cells = []
        for a in axes:
            fig = gap["axes"][a].get(d)
            if fig is None or fig["n"] == 0:
                cells.append("—")
                continue
            mean = fig["mean"]
            ci = f" [{_fmt(mean['low'])}, {_fmt(mean['high'])}]" if mean["low"] is not None else ""
            cells.append(f"{mean['estimate']:+.2f}{ci} · {_fmt(fig['mean_abs'])} · {fig['n']}")
        table.add_row(d, *cells)
    console.print(table)


def _print_summary(summary: dict[str, Any]) -> None:
    source = summary["scorer"] + (f" ({summary['model']})" if summary["model"] else "")
    for axis, a in summary["axes"].items():
        width = a["scale"][-1] - a["scale"][0]
        table = Table(
            "pair",
            *a["moves"],
            "trend/move",
            "mean [95% CI]",
            "W1",
            title=f"{axis}: distance |x_i − x_j|/{width} — {source}, {len(summary['runs'])} run(s)",
        )
        for pair in a["pairs"]:
            mean, w1 = a["distance_mean"][pair], a["wasserstein"].get(pair, {})
            ci = f" [{_fmt(mean['low'])}, {_fmt(mean['high'])}]" if mean["low"] is not None else ""
            table.add_row(
                pair,
                *(_fmt(a["distance"][pair][m]) for m in a["moves"]),
                _fmt(a["trend"].get(pair), 3),
                _fmt(mean["estimate"]) + ci,
                _fmt(w1.get("estimate")),
            )
        table.add_row("mean", *("" for _ in a["moves"]), _fmt(a["trend"]["mean"], 3), "", "")
        console.print(table)
        t, w = a["trend_label"], a["widest"]
        if w is not None:
            console.print(
                f"  widest gap: {w['pair']} in {w['move']} ({_fmt(w['value'])}); "
                f"over the exercise the gap {t['label']}"
                + (
                    f" ({_fmt(t['first'])} in {t['first_move']} → {_fmt(t['last'])} in {t['last_move']})"
                    if t["change"] is not None
                    else ""
                ),
                highlight=False,
            )
        moved = {k: v for k, v in a["concession"].items() if v}
        if moved:
            console.print(
                "  concession (>0: moved toward): " + ", ".join(f"{k} {v:+.2f}" for k, v in moved.items())
            )


def import_record(
    file: Annotated[Path, typer.Argument(help="A written record: .md, .txt or .csv.")],
    anonymise: Annotated[
        bool, typer.Option("--anonymise", help="Replace speaker names by role labels.")
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="Root folder for the run.")] = Path("transcripts"),
    run_id: Annotated[str | None, typer.Option("--run-id", help="Run id (default: time-file-hash).")] = None,
) -> None:
    """Turn a human transcript into a run folder (source: import) that can be scored."""
    from evals.importers import import_record as do_import
    from harness.transcript import Run

    folder = do_import(file, out, anonymise_names=anonymise, run_id=run_id)
    run = Run.load(folder)
    console.print(
        f"imported {len(run.utterances())} statements in {len(run.injects())} move(s) → {folder}",
        highlight=False,
    )
    console.print(f"score it with: harness score {folder}   (the {DEFAULT_SCORER} scorer)", highlight=False)


def scorers() -> None:
    """List the registered scorers (the names `--scorer` and an experiment's `scoring.scorers` take)."""
    from evals.scorers import registry

    table = Table("name", "description", "needs a model", title="scorers")
    for name, info in registry().items():
        table.add_row(name, info.description, "yes" if info.needs_models else "")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    app.command("scorers")(scorers)
    app.command("divergence")(divergence)
    app.command("import")(import_record)
