"""``harness run``, ``resume``, ``fork`` and ``show``."""

from __future__ import annotations

import contextlib
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.context import Options
    from harness.opening import Models
    from harness.runner import RunResult

console = Console()
err_console = Console(stderr=True)

BackendOpt = Annotated[
    str | None, typer.Option("--backend", help="Backend profile (see `harness backends`).")
]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint URL.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model name at the backend.")]
ModelForOpt = Annotated[
    list[str] | None, typer.Option("--model-for", help="DEL=MODEL: a delegation's own model (repeatable).")
]
OutOpt = Annotated[Path, typer.Option("--out", help="Root folder of run folders.")]
ConcOpt = Annotated[int, typer.Option("--max-concurrency", min=1, help="Parallel model calls at most.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display (for scripts).")]
CacheOpt = Annotated[
    Path | None, typer.Option("--cache", help="Response cache folder (replays cost nothing).")
]


def _parse_model_for(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--model-for {item!r}: expected DELEGATION=MODEL")
        d, m = item.split("=", 1)
        out[d.strip()] = m.strip()
    return out


@contextlib.contextmanager
def open_models(
    backend: str | None,
    base_url: str | None,
    model: str | None,
    model_for: dict[str, str],
    cache: Path | None,
    log_file: Path | None,
) -> Iterator[tuple[Models, int | None]]:
    """Resolve the backend from flags, environment and harness.toml; stop embedded servers on the way out."""
    from harness.llm.config import resolve_backend
    from harness.opening import opened_models

    config = resolve_backend(backend, base_url, model)
    if cache is not None:
        config = config.model_copy(update={"cache_dir": cache})
    with opened_models(config, model_for, log_file) as opened:
        yield opened.models, opened.prompt_cap


def _options(
    max_concurrency: int, prompt_cap: int | None, model_cap: int | None, narrate: bool, profile: str
) -> Options:
    from harness.context import options_for

    return options_for(
        profile, max_concurrency=max_concurrency, prompt_cap=prompt_cap, model_cap=model_cap, narrate=narrate
    )


def _drive(coro_factory: Any, quiet: bool, human: bool) -> RunResult:
    import asyncio

    from harness.cli.terminal import ProgressDisplay, TerminalSeat

    display = ProgressDisplay(err_console, enabled=not quiet)
    seat = TerminalSeat(console, display) if human else None
    with display:
        coro: Coroutine[Any, Any, RunResult] = coro_factory(display.hook, seat)
        return asyncio.run(coro)


def _done(result: RunResult) -> None:
    t = result.totals
    console.print(
        f"[green]{result.status}[/green] run {result.run_id}: {t.calls} calls, "
        f"{t.prompt_tokens:,} prompt + {t.completion_tokens:,} completion tokens, {t.wall_s:.1f} s"
    )
    console.print(f"transcript: {result.transcript}")


def run(
    scenario: Annotated[
        str, typer.Argument(help="Scenario file, or the id of a bundled one (see `harness scenarios`).")
    ],
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    model_for: ModelForOpt = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed.")] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Max tokens a reply.")] = None,
    out: OutOpt = Path("transcripts"),
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Run id (default: time-scenario-hex).")
    ] = None,
    human: Annotated[
        list[str] | None, typer.Option("--human", help="Take this delegation's head seat yourself.")
    ] = None,
    max_concurrency: ConcOpt = 8,
    prompt_cap: Annotated[int | None, typer.Option("--prompt-cap", help="Max prompt tokens a call.")] = None,
    narrate: Annotated[bool, typer.Option("--narrate", help="Control narrates consequences (LLM).")] = False,
    personas: Annotated[
        Path | None, typer.Option("--personas", help="Persona folder, searched before the scenario's own.")
    ] = None,
    rubrics: Annotated[
        Path | None, typer.Option("--rubrics", help="Rubric folder, searched before the scenario's own.")
    ] = None,
    prompts: Annotated[
        Path | None, typer.Option("--prompts", help="Prompt folder, searched before the scenario's own.")
    ] = None,
    cache: CacheOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run a scenario: parallel breakouts, plenary, adjudication, hot-wash; writes the transcript."""
    from harness.resources import find_scenario
    from harness.runner import RunRequest, prepare_run, start_run
    from harness.schema import Sampling

    req = RunRequest(
        scenario=find_scenario(scenario),
        out_root=out,
        run_id=run_id,
        sampling=Sampling(temperature=temperature, seed=seed, max_tokens=max_tokens),
        human_seats=list(human or []),
        personas_dir=personas,
        rubrics_dir=rubrics,
        prompts_dir=prompts,
    )
    prepared = prepare_run(req)
    folder = prepared[2]
    folder.mkdir(parents=True, exist_ok=True)
    mf = _parse_model_for(model_for)
    with open_models(backend, base_url, model, mf, cache, folder / "server.log") as (models, cap):
        req.options = _options(max_concurrency, prompt_cap, cap, narrate, models.backend.profile)
        if not quiet:
            err_console.print(f"run {prepared[1]} · {models.backend.profile} · {models.backend.model}")
        result = _drive(
            lambda hook, seat: start_run(req, models, human_io=seat, progress=hook, prepared=prepared),
            quiet,
            bool(human),
        )
    _done(result)


def resume(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id, run folder or transcript.jsonl.")],
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    out: OutOpt = Path("transcripts"),
    max_concurrency: ConcOpt = 8,
    cache: CacheOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Continue a run that was killed, lost its backend or waits for a human seat."""
    from harness.opening import recorded_backend
    from harness.runner import resume_run
    from harness.transcript import Run

    recorded = Run.load(run_ref, out)
    mf = dict(recorded.manifest.model_for)
    b, u, m = recorded_backend(recorded.manifest.backend, backend, base_url, model)
    with open_models(b, u, m, mf, cache, recorded.folder / "server.log") as (models, cap):
        opts = _options(max_concurrency, None, cap, False, models.backend.profile)
        human = bool(recorded.manifest.human_seats)
        result = _drive(
            lambda hook, seat: resume_run(
                recorded.path, models, out_root=out, options=opts, human_io=seat, progress=hook
            ),
            quiet,
            human,
        )
    _done(result)


def fork(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Parent run id, folder or transcript.")],
    at: Annotated[str, typer.Option("--at", help="Move id to branch at (it is played anew).")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=VALUE: seed, temperature, max_tokens, inject, consequences, …"),
    ] = None,
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    out: OutOpt = Path("transcripts"),
    run_id: Annotated[str | None, typer.Option("--run-id", help="Id of the new run.")] = None,
    max_concurrency: ConcOpt = 8,
    cache: CacheOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Start a counterfactual branch of a run at a move, as a new run that records its parent."""
    from harness.fork import fork_run
    from harness.opening import recorded_backend
    from harness.runner import new_run_id
    from harness.transcript import Run

    parent = Run.load(run_ref, out)
    mf = dict(parent.manifest.model_for)
    run_id = run_id or new_run_id(parent.manifest.scenario.id)
    (out / run_id).mkdir(parents=True, exist_ok=True)
    b, u, m = recorded_backend(parent.manifest.backend, backend, base_url, model)
    with open_models(b, u, m, mf, cache, out / run_id / "server.log") as (models, cap):
        opts = _options(max_concurrency, None, cap, False, models.backend.profile)
        human = bool(parent.manifest.human_seats)
        result = _drive(
            lambda hook, seat: fork_run(
                parent.path,
                at,
                models,
                sets=set_,
                out_root=out,
                run_id=run_id,
                options=opts,
                human_io=seat,
                progress=hook,
            ),
            quiet,
            human,
        )
    _done(result)


def show(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id, run folder or transcript.jsonl.")],
    out: OutOpt = Path("transcripts"),
    move: Annotated[str | None, typer.Option("--move", help="Only this move.")] = None,
    delegation: Annotated[str | None, typer.Option("--delegation", help="Only this delegation.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="caucus or plenary.")] = None,
) -> None:
    """Pretty-print a run by move, channel and speaker."""
    from harness.cli.show import print_run
    from harness.transcript import Run

    print_run(console, Run.load(run_ref, out), move=move, delegation=delegation, channel=channel)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("resume")(resume)
    app.command("fork")(fork)
    app.command("show")(show)
