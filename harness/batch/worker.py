"""One run of a batch, from wherever it stands: skip it, resume it or start it; retry it; score it.

Shared by the local and the Ray executor (a Ray worker calls :func:`execute_run` in its own event loop).

* A run folder whose transcript ends with ``run_end`` *completed* is skipped (its scores are written if
  missing); one that was interrupted, failed or crashed (no ``run_end``) is resumed with
  :func:`~harness.runner.resume_run`; otherwise the run starts.
* A run that does not complete is retried (resumed) up to ``retries`` more times, ``retry_delay_s`` ×
  attempt apart; bad data or configuration is never retried (it would fail the same way).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.rubrics import load_rubrics
from evals.scorers import ScorerSettings, build_scorer, scorer_info
from evals.scorers.base import Scorer
from evals.scores_io import scores_path, write_scores
from harness.batch.models import Opened
from harness.batch.plan import PlannedRun
from harness.batch.spec import RunOptions, ScoringSpec
from harness.context import Options, options_for
from harness.datapaths import codebook_path
from harness.errors import ConfigError, DataError, HarnessError
from harness.loaders import Bundle, load_bundle
from harness.recorded import bundle_of, rubrics_of
from harness.runner import RunInterrupted, RunRequest, RunResult, resume_run, start_run
from harness.schema import Rubric, Totals
from harness.transcript import TRANSCRIPT_NAME, Run, read_events

log = logging.getLogger(__name__)


@dataclass
class RunRecord:
    """What the index says about one run."""

    run_id: str
    status: str  # completed | interrupted | failed | error | capped
    action: str = "started"  # started | resumed | skipped | not_started
    attempts: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    error: str = ""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tokens": self.tokens}


@dataclass(frozen=True)
class RunSettings:
    """Everything a worker needs besides the run and its models (picklable)."""

    out_dir: Path
    options: RunOptions
    scoring: ScoringSpec
    retries: int = 1
    retry_delay_s: float = 5.0


def run_options(spec: RunOptions, opened: Opened) -> Options:
    """The run's options, made as ``harness run`` makes them (the backend's own tuning included)."""
    return options_for(
        opened.models.backend.profile,
        max_concurrency=spec.max_concurrency,
        prompt_cap=spec.prompt_cap,
        model_cap=opened.prompt_cap,
        narrate=spec.narrate,
        turn_tokens=spec.turn_tokens,
        card_tokens=spec.card_tokens,
    )


def _check_matches(run: PlannedRun, recorded: Run) -> None:
    m = recorded.manifest
    want = (run.condition.scenario_id, run.sampling.seed, run.sampling.temperature)
    have = (m.scenario.id, m.sampling.seed, m.sampling.temperature)
    if want != have:
        raise ConfigError(
            f"{recorded.folder} holds a run of another plan (scenario, seed, temperature {have} ≠ {want}); "
            "move it away or use another --out"
        )


async def _attempt(run: PlannedRun, settings: RunSettings, opened: Opened) -> tuple[str, RunResult]:
    """Start or resume the run once; returns the action taken and the run's result (a run that does not
    complete raises; its outcome is in its transcript).

    A resumed run reads the persona, rubric and prompt folders its manifest recorded (a persona variant's
    folder among them), so it goes on exactly as it started.
    """
    folder = settings.out_dir / run.run_id
    transcript = folder / TRANSCRIPT_NAME
    options = run_options(settings.options, opened)
    recorded = _recorded(transcript)
    if recorded is not None:
        _check_matches(run, recorded)
        return "resumed", await resume_run(
            transcript, opened.models, out_root=settings.out_dir, options=options
        )
    personas = run.condition.personas.personas
    request = RunRequest(
        scenario=run.condition.scenario_path,
        out_root=settings.out_dir,
        run_id=run.run_id,
        sampling=run.sampling,
        options=options,
        personas_dir=personas,
        rubrics_dir=settings.scoring.rubrics,
    )
    bundle = _bundle(run.condition.scenario_path, personas, settings.scoring.rubrics)
    return "started", await start_run(request, opened.models, prepared=(bundle, run.run_id, folder))


@functools.lru_cache(maxsize=64)
def _bundle(scenario: Path, personas: Path | None, rubrics: Path | None) -> Bundle:
    """Scenario, personas and rubrics parsed once per process (read-only; YAML parsing is slow)."""
    return load_bundle(scenario, personas, rubrics)


def _recorded(transcript: Path) -> Run | None:
    """The run recorded so far; ``None`` when there is none, including a transcript killed before its
    manifest line was complete (the writer truncates the torn line and the run starts afresh)."""
    if not transcript.exists() or not read_events(transcript):
        return None
    return Run.load(transcript)


def _set_totals(record: RunRecord, status: str, t: Totals) -> None:
    record.status = status if record.status != "error" else record.status
    record.calls, record.prompt_tokens, record.completion_tokens = (
        t.calls,
        t.prompt_tokens,
        t.completion_tokens,
    )
    record.wall_s = t.wall_s


def _fill_totals(record: RunRecord, folder: Path) -> None:
    try:
        recorded = Run.load(folder)
    except HarnessError:
        return
    end = recorded.run_end()
    if end is not None:
        _set_totals(record, end.status, end.totals)


def completed_record(run: PlannedRun, out_dir: Path) -> RunRecord | None:
    """The record of a run already completed in ``out_dir``, else ``None``."""
    transcript = out_dir / run.run_id / TRANSCRIPT_NAME
    if not transcript.exists():
        return None
    try:
        recorded = Run.load(transcript)
    except HarnessError:
        return None
    end = recorded.run_end()
    if end is None or end.status != "completed":
        return None
    _check_matches(run, recorded)
    record = RunRecord(run.run_id, "completed", action="skipped")
    _fill_totals(record, transcript.parent)
    return record


async def execute_run(
    run: PlannedRun,
    settings: RunSettings,
    opened: Opened,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> RunRecord:
    folder = settings.out_dir / run.run_id
    done = completed_record(run, settings.out_dir)
    if done is not None:
        await asyncio.to_thread(score_folder, folder, settings.scoring)
        return done
    record = RunRecord(run.run_id, "error")
    first_action = ""
    initial = "resumed" if _recorded(folder / TRANSCRIPT_NAME) is not None else "started"
    for attempt in range(1, settings.retries + 2):
        record.attempts = attempt
        record.error = ""
        record.status = "error"
        result: RunResult | None = None
        try:
            action, result = await _attempt(run, settings, opened)
            first_action = first_action or action
            record.status = "completed"
        except (ConfigError, DataError) as exc:
            record.error = str(exc)
            log.error("%s: %s", run.run_id, exc)
            break
        except RunInterrupted as exc:
            record.status, record.error = "interrupted", str(exc)
        except HarnessError as exc:
            record.status, record.error = "failed", str(exc)
        except Exception as exc:  # a bug must not take the other runs down with it
            log.exception("%s: unexpected error", run.run_id)
            record.error = f"{type(exc).__name__}: {exc}"
        if result is not None:  # its run_end, as written: no need to read the transcript back
            _set_totals(record, result.status, result.totals)
        else:
            _fill_totals(record, folder)
        if record.status == "completed":
            break
        if attempt <= settings.retries:
            log.warning("%s: %s (attempt %d); retrying", run.run_id, record.status, attempt)
            await sleep(settings.retry_delay_s * attempt)
    record.action = first_action or initial
    record.error = " ".join(record.error.split())[:300]
    if record.status == "completed":
        await asyncio.to_thread(score_folder, folder, settings.scoring)
    return record


# ------------------------------------------------------------------------------------------------
# scoring
# ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _scorer(name: str, codebook: Path | None) -> Scorer:
    return build_scorer(name, ScorerSettings(codebook=codebook_path(codebook)))


def _rubrics(run: Run, rubrics_dir: Path | None) -> dict[str, Rubric]:
    """The rubrics a run is scored on: the batch's rubric folder when it names one, else the run's own."""
    if rubrics_dir is None:
        return rubrics_of(run.manifest)
    found = load_rubrics(rubrics_dir)
    return {axis: found[axis] for axis in bundle_of(run.manifest).scenario.axes if axis in found}


def score_folder(folder: Path, scoring: ScoringSpec) -> None:
    """Write ``scores/<scorer>.jsonl`` for each configured scorer unless newer than the transcript."""
    transcript = folder / TRANSCRIPT_NAME
    stamp = transcript.stat().st_mtime
    todo = [n for n in scoring.scorers if not _fresh(scores_path(folder, n), stamp)]
    if not todo:
        return
    run = Run.load(transcript)
    rubrics = _rubrics(run, scoring.rubrics)
    started = time.monotonic()
    for name in todo:
        if scorer_info(name).needs_models:
            from harness.batch.judging import judge_folder

            judge_folder(folder, name, scoring, run, rubrics)
            continue
        write_scores(scores_path(folder, name), _scorer(name, scoring.codebook).score_run(run, rubrics))
    log.debug("%s scored in %.2f s", run.run_id, time.monotonic() - started)


def _fresh(path: Path, stamp: float) -> bool:
    return path.is_file() and path.stat().st_mtime >= stamp
