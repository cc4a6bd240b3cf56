"""Run, resume and fork exercises around the compiled graph; one run folder per run (docs/contract.md).

The transcript is written as events happen; LangGraph state is checkpointed per run in
``checkpoints.sqlite`` (thread id = run id), each step's checkpoint after the transcript is durable
(:mod:`harness.checkpoints`). An unreachable backend ends the run cleanly with
``run_end`` status ``interrupted`` and the hint ``harness resume <run_id>``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langgraph.types import Command

import harness
from harness import keys
from harness.checkpoints import open_checkpoints
from harness.context import Options, ProgressHook, RunContext
from harness.errors import ConfigError, HarnessError
from harness.graph import build_graph
from harness.llm.base import BackendRequestError, BackendUnavailable, LLMError
from harness.loaders import Bundle, load_bundle, sha256_file
from harness.opening import Models
from harness.prompts import Prompts
from harness.recorded import bundle_of
from harness.schema import (
    ErrorEvent,
    EventBase,
    ManifestEvent,
    Parent,
    ResumeEvent,
    RunEndEvent,
    Sampling,
    ScenarioRef,
    Totals,
)
from harness.transcript import TRANSCRIPT_NAME, Run, TranscriptWriter, utc_now

log = logging.getLogger(__name__)

HumanIO = Callable[[dict[str, Any]], dict[str, Any]]
"""Given an interrupt payload (what the seat sees), return ``{"text": ...}`` or ``{"card": {...}}``."""


class RunInterrupted(HarnessError):
    """The run stopped before the end (backend down, Ctrl-C, human left); it can be resumed."""

    exit_code = 3


@dataclass
class RunResult:
    run_id: str
    folder: Path
    status: str
    totals: Totals

    @property
    def transcript(self) -> Path:
        return self.folder / TRANSCRIPT_NAME


def new_run_id(scenario_id: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{scenario_id}-{secrets.token_hex(3)}"


@functools.lru_cache(maxsize=1)
def _git_sha() -> str | None:
    """The commit of the code this process runs (looked up once: a batch starts many runs)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def totals_from(events: list[EventBase], wall_s: float) -> Totals:
    calls = prompt = completion = 0
    for e in events:
        usage = getattr(e, "usage", None)
        if usage is not None:
            calls += 1
            prompt += usage.prompt_tokens
            completion += usage.completion_tokens
    return Totals(calls=calls, prompt_tokens=prompt, completion_tokens=completion, wall_s=round(wall_s, 3))


def _check_seats(bundle: Bundle, seats: list[str], model_for: dict[str, Any]) -> None:
    ids = [d.id for d in bundle.scenario.delegations]
    for s in seats:
        if s not in ids:
            raise ConfigError(
                f"--human {s}: no such delegation in {bundle.scenario.id} (have {', '.join(ids)})"
            )
    for s in model_for:
        if s not in ids:
            raise ConfigError(f"--model-for {s}=…: no such delegation (have {', '.join(ids)})")


# ------------------------------------------------------------------------------------------------
# executing the graph
# ------------------------------------------------------------------------------------------------


_WAITING = object()


async def execute(
    ctx: RunContext,
    first_input: Any,
    human_io: HumanIO | None,
    attempt: int,
    prior_wall: float,
) -> RunResult:
    folder = ctx.writer.path.parent
    started = time.monotonic()
    status = "completed"
    failure: HarnessError | None = None
    try:
        async with open_checkpoints(folder, ctx.writer) as saver:
            graph = build_graph(saver)
            config: dict[str, Any] = {
                "configurable": {"thread_id": ctx.run_id},
                "recursion_limit": 100_000,
                "max_concurrency": max(1, ctx.options.max_concurrency),
            }
            payload: Any = first_input
            if payload is None:
                snap = await graph.aget_state(config)
                payload = _answer_pending(snap.interrupts, human_io)
            while True:
                if payload is not _WAITING:
                    await graph.ainvoke(payload, config, context=ctx, durability="sync")
                snap = await graph.aget_state(config)
                if not snap.interrupts:
                    break
                payload = _answer_pending(snap.interrupts, human_io)
                if payload is _WAITING:
                    status = "interrupted"
                    failure = RunInterrupted(
                        f"waiting for the human seat; continue with: harness resume {ctx.run_id}"
                    )
                    break
    except (BackendUnavailable, BackendRequestError) as exc:
        status = "interrupted"
        ctx.writer.write(
            ErrorEvent(
                key=keys.backend_error(attempt), where="backend", kind=type(exc).__name__, message=str(exc)
            )
        )
        failure = RunInterrupted(f"{exc} — the run is saved; continue with: harness resume {ctx.run_id}")
    except (KeyboardInterrupt, EOFError, asyncio.CancelledError):
        status = "interrupted"
        failure = RunInterrupted(f"stopped by the user; continue with: harness resume {ctx.run_id}")
    except LLMError as exc:
        status = "failed"
        ctx.writer.write(
            ErrorEvent(key=keys.failure(attempt), where="run", kind=type(exc).__name__, message=str(exc))
        )
        failure = exc
    except HarnessError as exc:
        status = "failed"
        ctx.writer.write(
            ErrorEvent(key=keys.failure(attempt), where="run", kind=type(exc).__name__, message=str(exc))
        )
        failure = exc
    wall = prior_wall + time.monotonic() - started
    totals = totals_from(ctx.writer.events(), wall)
    ctx.writer.write(RunEndEvent(key=keys.run_end(attempt), status=status, totals=totals))
    ctx.writer.close()
    ctx.emit("done", status=status)
    if failure is not None:
        raise failure
    return RunResult(ctx.run_id, folder, status, totals)


def _answer_pending(interrupts: Any, human_io: HumanIO | None) -> Any:
    """Ask the human for every pending interrupt; ``_WAITING`` when nobody can answer now."""
    if not interrupts:
        return None
    if human_io is None:
        return _WAITING
    resume: dict[str, Any] = {}
    for intr in interrupts:
        value = dict(human_io(intr.value))
        value["key"] = intr.value["key"]
        resume[intr.id] = value
    return Command(resume=resume)


def make_context(
    run_id: str,
    bundle: Bundle,
    writer: TranscriptWriter,
    prompts: Prompts,
    models: Models,
    sampling: Sampling,
    seats: list[str],
    options: Options,
    overrides: dict[str, dict[str, str]],
    progress: ProgressHook | None,
) -> RunContext:
    return RunContext(
        run_id=run_id,
        bundle=bundle,
        writer=writer,
        prompts=prompts,
        model=models.default,
        sampling=sampling,
        model_for=dict(models.per_delegation),
        human_seats=frozenset(seats),
        options=options,
        overrides=overrides,
        progress=progress,
    )


def manifest_for(
    run_id: str,
    bundle: Bundle,
    prompts: Prompts,
    models: Models,
    sampling: Sampling,
    seats: list[str],
    options: Options,
    parent: Parent | None = None,
    overrides: dict[str, Any] | None = None,
) -> ManifestEvent:
    """Line 1 of a transcript: what the run is made of (every data file by hash, where each was found)."""
    sp = bundle.scenario_path
    return ManifestEvent(
        key=keys.MANIFEST,
        run_id=run_id,
        created=utc_now(),
        harness_version=harness.__version__,
        git_sha=_git_sha(),
        source="simulation",
        scenario=ScenarioRef(
            id=bundle.scenario.id,
            version=bundle.scenario.version,
            path=str(sp),
            sha256=sha256_file(sp),
        ),
        personas=bundle.persona_hashes(),
        prompts=prompts.hashes(),
        rubrics=bundle.rubric_hashes(),
        data_paths=bundle.paths.recorded(),
        backend=models.backend,
        sampling=sampling,
        parent=parent,
        human_seats=list(seats),
        model_for=dict(models.per_delegation_names),
        overrides=overrides or {},
        options={
            "narrate": options.narrate,
            "prompt_cap": options.prompt_cap,
            "turn_tokens": options.turn_tokens,
            "card_tokens": options.card_tokens,
            "persona_detail": options.persona_detail,
            "sentences": options.sentences,
        },
    )


# ------------------------------------------------------------------------------------------------
# public entry points
# ------------------------------------------------------------------------------------------------


@dataclass
class RunRequest:
    scenario: Path
    out_root: Path = Path("transcripts")
    run_id: str | None = None
    sampling: Sampling = field(default_factory=Sampling)
    human_seats: list[str] = field(default_factory=list)
    options: Options = field(default_factory=Options)
    personas_dir: Path | None = None
    rubrics_dir: Path | None = None
    prompts_dir: Path | None = None


def prepare_run(req: RunRequest) -> tuple[Bundle, str, Path]:
    """Load and check everything before any model is started; return bundle, run id and folder."""
    bundle = load_bundle(req.scenario, req.personas_dir, req.rubrics_dir, req.prompts_dir)
    run_id = req.run_id or new_run_id(bundle.scenario.id)
    folder = req.out_root / run_id
    if (folder / TRANSCRIPT_NAME).exists():
        raise ConfigError(f"run {run_id} already exists in {req.out_root}; use: harness resume {run_id}")
    return bundle, run_id, folder


async def start_run(
    req: RunRequest,
    models: Models,
    *,
    human_io: HumanIO | None = None,
    progress: ProgressHook | None = None,
    prepared: tuple[Bundle, str, Path] | None = None,
) -> RunResult:
    bundle, run_id, folder = prepared or prepare_run(req)
    _check_seats(bundle, req.human_seats, models.per_delegation)
    prompts = Prompts(bundle.paths.prompts.folders)
    writer = TranscriptWriter(folder / TRANSCRIPT_NAME)
    writer.write(manifest_for(run_id, bundle, prompts, models, req.sampling, req.human_seats, req.options))
    ctx = make_context(
        run_id, bundle, writer, prompts, models, req.sampling, req.human_seats, req.options, {}, progress
    )
    return await execute(ctx, first_state(bundle), human_io, attempt=1, prior_wall=0.0)


def options_from(manifest: ManifestEvent, base: Options) -> Options:
    """The recorded options that shape the transcript; concurrency from ``base`` (this invocation)."""
    o = manifest.options
    return Options(
        max_concurrency=base.max_concurrency,
        prompt_cap=int(o.get("prompt_cap", base.prompt_cap)),
        turn_tokens=int(o.get("turn_tokens", base.turn_tokens)),
        card_tokens=int(o.get("card_tokens", base.card_tokens)),
        narrate=bool(o.get("narrate", base.narrate)),
        # runs recorded before the option existed carried the whole persona
        persona_detail="brief" if o.get("persona_detail") == "brief" else "full",
        sentences=str(o.get("sentences", Options().sentences)),
    )


def move_overrides(manifest: ManifestEvent) -> dict[str, dict[str, str]]:
    return {k: dict(v) for k, v in manifest.overrides.get("moves", {}).items()}


def first_state(bundle: Bundle) -> dict[str, Any]:
    return {"move": bundle.scenario.moves[0].id, "played": [], "cards": {}, "plenary_round": 0}


async def resume_run(
    run: str | Path,
    models: Models,
    *,
    out_root: Path = Path("transcripts"),
    options: Options | None = None,
    human_io: HumanIO | None = None,
    progress: ProgressHook | None = None,
) -> RunResult:
    """Continue a run with the scenario, data folders and options its manifest recorded."""
    recorded = Run.load(run, out_root)
    manifest = recorded.manifest
    end = recorded.run_end()
    if end is not None and end.status == "completed":
        raise ConfigError(f"run {manifest.run_id} is already completed; use harness fork to branch it")
    bundle = bundle_of(manifest)
    prompts = Prompts(bundle.paths.prompts.folders)
    writer = TranscriptWriter(recorded.path)
    attempt = sum(1 for e in writer.events() if isinstance(e, ResumeEvent)) + 2
    writer.write(ResumeEvent(key=keys.resume(attempt - 1), at_seq=writer.next_seq, backend=models.backend))
    prior_wall = end.totals.wall_s if end is not None else 0.0
    ctx = make_context(
        manifest.run_id,
        bundle,
        writer,
        prompts,
        models,
        manifest.sampling,
        manifest.human_seats,
        options_from(manifest, options or Options()),
        move_overrides(manifest),
        progress,
    )
    async with open_checkpoints(writer.path.parent) as saver:
        snap = await build_graph(saver).aget_state({"configurable": {"thread_id": manifest.run_id}})
    # crashed before the first checkpoint: start over (the transcript's turns are reused, not redone)
    first: Any = None if snap.values else first_state(bundle)
    return await execute(ctx, first, human_io, attempt=attempt, prior_wall=prior_wall)
