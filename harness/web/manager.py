"""Runs the server drives: a new exercise, or a resumed one, each on a thread with its own event loop.

The run itself is :func:`harness.runner.start_run` / :func:`~harness.runner.resume_run`, exactly as the
CLI calls them, with a :class:`~harness.web.seat.WebSeat` as the human seat. Closing the server ends
every driven run as ``interrupted`` (a waiting seat is released, a model call is cancelled), so it can
be resumed; a killed server leaves the checkpoints, and the run is resumed when its pending turn is
answered. Only one answer per pending turn is taken (the others get :class:`Conflict`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.context import options_for
from harness.errors import ConfigError, HarnessError
from harness.llm.config import resolve_backend
from harness.llm.profiles import DUMMY_KEY
from harness.loaders import Bundle
from harness.opening import opened_models, recorded_backend
from harness.recorded import bundle_of
from harness.runner import RunRequest, RunResult, prepare_run, resume_run, start_run
from harness.schema import Sampling
from harness.transcript import TRANSCRIPT_NAME
from harness.web.registry import Registry, run_status
from harness.web.seat import AnswerIn, BadAnswer, WebSeat, check_answer, pending_turns

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0
"""How long starting a run may take before the page is sent to it anyway."""

Job = Callable[[WebSeat], Coroutine[Any, Any, RunResult]]


class Conflict(Exception):
    """The request clashes with the run's state (HTTP 409)."""


@dataclass
class StartSpec:
    """A run to start from the page (already checked by :class:`~harness.web.forms.StartForm`)."""

    scenario: Path
    backend: str | None = None
    base_url: str | None = None
    model: str | None = None
    seed: int | None = None
    human: list[str] = field(default_factory=list)
    run_id: str | None = None


@dataclass
class Driven:
    """A run this server is driving."""

    ref: str
    seat: WebSeat
    thread: threading.Thread | None = None
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[Any] | None = None
    state: str = "starting"
    message: str = ""

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class RunManager:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._driven: dict[str, Driven] = {}
        self._claimed: set[tuple[str, str]] = set()
        self._bundles: dict[str, Bundle] = {}
        self._version = 0

    # -- state -------------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Changes whenever a driven run starts, ends or a seat starts or stops waiting."""
        with self._lock:
            return self._version + sum(d.seat.version for d in self._driven.values())

    def driven(self, ref: str) -> Driven | None:
        with self._lock:
            d = self._driven.get(ref)
        return d if d is not None and d.alive else None

    def state(self, ref: str) -> str:
        """``starting``/``running``/``waiting`` while driven here, else the transcript's status, with
        ``unfinished`` for a run that has no ``run_end`` and is not driven here (stopped abruptly, or
        driven by another process, such as ``harness run`` in a terminal)."""
        d = self.driven(ref)
        if d is not None:
            return "waiting" if d.seat.waiting else d.state
        if not self.registry.exists(ref):
            with self._lock:
                gone = self._driven.get(ref)
            return "failed" if gone is not None else "unknown"
        status = run_status(self.registry.load(ref))
        return status

    def message(self, ref: str) -> str:
        with self._lock:
            d = self._driven.get(ref)
        return d.message if d is not None else ""

    def pending(self, ref: str, delegation: str | None = None) -> list[dict[str, Any]]:
        """Turns waiting for a person (from the checkpoints), less those already answered here."""
        if not self.registry.exists(ref):
            return []
        run = self.registry.load(ref)
        if not run.manifest.human_seats or run_status(run) == "completed":
            return []
        with self._lock:
            claimed = {k for r, k in self._claimed if r == ref}
        return [
            p
            for p in pending_turns(run.folder, run.run_id)
            if p["key"] not in claimed and (delegation is None or p.get("delegation") == delegation)
        ]

    def waiting_runs(self) -> dict[str, list[str]]:
        """Runs with a turn waiting for a person: ref → delegations (found on start, offered to resume)."""
        out: dict[str, list[str]] = {}
        for ref in self.registry.refs():
            seats = sorted({str(p.get("delegation")) for p in self.pending(ref)})
            if seats:
                out[ref] = seats
        return out

    def bundle(self, ref: str) -> Bundle:
        with self._lock:
            hit = self._bundles.get(ref)
        if hit is None:
            hit = bundle_of(self.registry.load(ref).manifest)
            with self._lock:
                self._bundles[ref] = hit
        return hit

    # -- starting and resuming ---------------------------------------------------------------------
    def start(self, spec: StartSpec) -> str:
        """Check everything a run needs, start it on its own thread and return its ref once its
        transcript exists (an embedded model takes a few seconds to start)."""
        config = resolve_backend(spec.backend, spec.base_url, spec.model)
        if spec.base_url and config.api_key.get_secret_value() != DUMMY_KEY:
            try:
                configured: str | None = resolve_backend(spec.backend, None, spec.model).base_url
            except ConfigError:
                configured = None
            if config.base_url != configured:
                raise ConfigError(
                    f"backend {config.profile}: a base URL typed in the web room is not used while its key "
                    "is set (the key would be sent there); configure the endpoint on the server instead"
                )
        req = RunRequest(
            scenario=spec.scenario,
            out_root=self.registry.out,
            run_id=spec.run_id,
            sampling=Sampling(seed=spec.seed),
            human_seats=list(spec.human),
        )
        if spec.run_id and self.registry.folder(spec.run_id).exists():
            raise Conflict(f"run {spec.run_id} already exists")
        prepared = prepare_run(req)
        bundle, run_id, folder = prepared
        ids = [d.id for d in bundle.scenario.delegations]
        bad = [s for s in spec.human if s not in ids]
        if bad:
            have = ", ".join(ids)
            raise ConfigError(f"no delegation {', '.join(bad)} in {bundle.scenario.id} (have {have})")
        folder.mkdir(parents=True, exist_ok=True)

        async def job(seat: WebSeat) -> RunResult:
            with opened_models(config, {}, folder / "server.log") as opened:
                req.options = options_for(config.profile, model_cap=opened.prompt_cap)
                return await start_run(req, opened.models, human_io=seat, prepared=prepared)

        d = self._drive(run_id, job, WebSeat())
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (folder / TRANSCRIPT_NAME).is_file() and time.monotonic() < deadline:
            if not d.alive:
                raise HarnessError(f"run {run_id} did not start: {d.message or d.state}")
            time.sleep(0.05)
        return run_id

    def resume(self, ref: str, answers: dict[str, dict[str, Any]] | None = None) -> None:
        """Resume ``ref`` on its recorded backend; ``answers`` are given to the seat up front."""
        if self.driven(ref) is not None:
            raise Conflict(f"run {ref} is already running here")
        run = self.registry.load(ref)
        if run_status(run) == "completed":
            raise Conflict(f"run {ref} is already completed")
        folder = run.folder
        m = run.manifest

        config = resolve_backend(*recorded_backend(m.backend, None, None, None))

        async def job(seat: WebSeat) -> RunResult:
            with opened_models(config, dict(m.model_for), folder / "server.log") as opened:
                opts = options_for(config.profile, model_cap=opened.prompt_cap)
                return await resume_run(folder, opened.models, options=opts, human_io=seat)

        self._drive(ref, job, WebSeat(answers))

    def _drive(self, ref: str, job: Job, seat: WebSeat) -> Driven:
        d = Driven(ref=ref, seat=seat)
        d.thread = threading.Thread(target=self._main, args=(d, job), name=f"run-{ref}", daemon=True)
        with self._lock:
            self._driven[ref] = d
            self._version += 1
        d.thread.start()
        return d

    def _main(self, d: Driven, job: Job) -> None:
        async def go() -> RunResult:
            d.loop, d.task = asyncio.get_running_loop(), asyncio.current_task()
            d.state = "running"
            return await job(d.seat)

        try:
            d.state = asyncio.run(go()).status
        except HarnessError as exc:  # RunInterrupted included: the run is saved and can be resumed
            d.state = "interrupted" if exc.exit_code == 3 else "failed"
            d.message = str(exc)
            log.info("run %s: %s", d.ref, exc)
        except Exception:
            d.state = "failed"
            d.message = "the run stopped on an internal error (see the server log)"
            log.exception("run %s failed", d.ref)
        finally:
            self._settle(d.ref)

    def _settle(self, ref: str) -> None:
        """A run's thread ended: forget answers it never recorded, so the turn can be answered again."""
        try:
            recorded = {e.key for e in self.registry.load(ref).events} if self.registry.exists(ref) else set()
        except HarnessError:
            recorded = set()
        with self._lock:
            self._claimed = {(r, k) for r, k in self._claimed if r != ref or k in recorded}
            self._bundles.pop(ref, None)
            self._version += 1

    # -- answering -----------------------------------------------------------------------------------
    def answer(self, ref: str, answer: AnswerIn) -> None:
        """Take a person's answer to a pending turn: one answer per turn, checked, then given to the run
        (which is resumed from its checkpoints if this server is not driving it)."""
        if not (self.registry.folder(ref) / TRANSCRIPT_NAME).is_file():
            raise BadAnswer(f"no run {ref}")
        with self._lock:
            if (ref, answer.key) in self._claimed:
                raise Conflict("this turn has already been answered (from another page?)")
        payload = next((p for p in self.pending(ref) if p["key"] == answer.key), None)
        if payload is None:
            if answer.key in {e.key for e in self.registry.load(ref).events}:
                raise Conflict("this turn has already been answered")
            raise Conflict("this turn is not waiting for an answer")
        value = check_answer(payload, answer, self.bundle(ref))
        with self._lock:
            if (ref, answer.key) in self._claimed:
                raise Conflict("this turn has already been answered (from another page?)")
            self._claimed.add((ref, answer.key))
            self._version += 1
        d = self.driven(ref)
        if d is not None:
            d.seat.give(answer.key, value)
            return
        try:
            self.resume(ref, {answer.key: value})
        except BaseException:
            with self._lock:
                self._claimed.discard((ref, answer.key))
            raise

    # -- shutting down -------------------------------------------------------------------------------
    def close(self, timeout: float = 10.0) -> None:
        """End every driven run as ``interrupted`` (resumable) and wait for their threads."""
        with self._lock:
            driven = list(self._driven.values())
        for d in driven:
            d.seat.close()
            if d.loop is not None and d.task is not None and not d.loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    d.loop.call_soon_threadsafe(d.task.cancel)
        for d in driven:
            if d.thread is not None:
                d.thread.join(timeout)
