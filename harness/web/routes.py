"""Pages and API of the web room.

Pages: ``/`` (runs, waiting seats, start a run), ``/runs/{ref}`` (follow and annotate a run live),
``/seat/{ref}`` (a delegation's seat), ``/report/{ref}`` (the review report, rendered on request).
API (JSON): ``/api/runs``, ``/api/resume/{ref}``, ``/api/stream/{ref}`` (server-sent events),
``/api/pending/{ref}``, ``/api/answer/{ref}``, ``/api/notes/{ref}``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, StreamingResponse

from harness.annotations import SUGGESTED_TAGS, append_annotation, read_annotations
from harness.llm.profiles import PROFILES
from harness.report import build_report
from harness.report.lookup import load_lookup
from harness.transcript import TRANSCRIPT_NAME, Run
from harness.web.forms import NoteForm, StartForm, scenario_choices
from harness.web.live import event_stream
from harness.web.manager import RunManager, StartSpec
from harness.web.pages import render
from harness.web.registry import Registry, UnknownRun
from harness.web.seat import AnswerIn, BadAnswer, form_rows

router = APIRouter()

LIVE_STATES = ("starting", "running", "waiting")


def _registry(request: Request) -> Registry:
    reg: Registry = request.app.state.registry
    return reg


def _manager(request: Request) -> RunManager:
    mgr: RunManager = request.app.state.manager
    return mgr


def _labels(run: Run) -> dict[str, Any]:
    """Display names for a run's ids (the report's lookup), for the page's script."""
    lk = load_lookup(run)
    return {
        "delegations": dict(lk.delegation_names),
        "personas": {pid: [name, lk.speaker_title(pid)] for pid, name in lk.persona_names.items()},
        "axes": {axis: lk.axis_title(axis) for axis in lk.rubrics},
        "title": lk.scenario_title or run.manifest.scenario.id,
    }


def _rows(request: Request) -> list[dict[str, Any]]:
    reg, mgr = _registry(request), _manager(request)
    rows = []
    for ref in reg.refs():
        info = reg.info(ref)
        if info is None:
            continue
        state = mgr.state(ref)
        if info.human_seats and state != "completed":
            info.waiting = sorted({str(p.get("delegation")) for p in mgr.pending(ref)})
        rows.append({**dataclasses.asdict(info), "state": state, "message": mgr.message(ref)})
    return rows


# ------------------------------------------------------------------------------------------------
# pages
# ------------------------------------------------------------------------------------------------


@router.get("/healthz")
def healthz() -> dict[str, bool]:
    return {"ok": True}


@router.get("/", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    rows = _rows(request)
    return render(
        "runs.html.j2",
        rows=rows,
        waiting=[r for r in rows if r["waiting"]],
        scenarios=scenario_choices(request.app.state.settings.scenarios),
        profiles=[(p.name, p.description) for p in PROFILES.values()],
        out=str(request.app.state.settings.out),
    )


def _run_or_404(request: Request, ref: str) -> Run:
    reg = _registry(request)
    if not reg.exists(ref):
        if _manager(request).driven(ref) is not None:
            raise HTTPException(404, f"run {ref} is starting: reload in a moment")
        raise UnknownRun(ref)
    return reg.load(ref)


@router.get("/runs/{ref:path}", response_class=HTMLResponse)
def live_page(request: Request, ref: str) -> HTMLResponse:
    run = _run_or_404(request, ref)
    return render(
        "live.html.j2",
        ref=ref,
        run=run,
        state=_manager(request).state(ref),
        labels=_labels(run),
        tags=SUGGESTED_TAGS,
    )


@router.get("/seat/{ref:path}", response_class=HTMLResponse)
def seat_page(request: Request, ref: str, delegation: str | None = None) -> HTMLResponse:
    run = _run_or_404(request, ref)
    seats = run.manifest.human_seats
    if not seats:
        raise HTTPException(404, f"run {ref} has no human seat")
    seat = delegation or seats[0]
    if seat not in seats:
        raise HTTPException(404, f"{seat} is not a human seat of run {ref} (seats: {', '.join(seats)})")
    mgr = _manager(request)
    pending = mgr.pending(ref, seat)
    return render(
        "seat.html.j2",
        ref=ref,
        run=run,
        seat=seat,
        seats=seats,
        state=mgr.state(ref),
        message=mgr.message(ref),
        turn=pending[0] if pending else None,
        rows=form_rows(pending[0]) if pending and pending[0].get("kind") == "card" else [],
        labels=_labels(run),
    )


@router.get("/report/{ref:path}", response_class=HTMLResponse)
def report_page(request: Request, ref: str) -> HTMLResponse:
    return HTMLResponse(build_report([_run_or_404(request, ref)]))


# ------------------------------------------------------------------------------------------------
# API
# ------------------------------------------------------------------------------------------------


@router.get("/api/runs")
def list_runs(request: Request) -> list[dict[str, Any]]:
    return _rows(request)


@router.post("/api/runs", status_code=201)
def start_run(request: Request, form: StartForm) -> dict[str, str]:
    choices = {c.name: c.path for c in scenario_choices(request.app.state.settings.scenarios)}
    if form.scenario not in choices:
        raise BadAnswer(f"unknown scenario {form.scenario!r}: choose one of {', '.join(sorted(choices))}")
    spec = StartSpec(
        scenario=choices[form.scenario],
        backend=form.backend,
        base_url=form.base_url,
        model=form.model,
        seed=form.seed,
        human=list(form.human),
        run_id=form.run_id,
    )
    ref = _manager(request).start(spec)
    url = f"/seat/{ref}" if spec.human else f"/runs/{ref}"
    return {"ref": ref, "url": url}


@router.post("/api/resume/{ref:path}", status_code=202)
def resume(request: Request, ref: str) -> dict[str, str]:
    _run_or_404(request, ref)
    _manager(request).resume(ref)
    return {"ref": ref, "state": "running"}


@router.get("/api/stream/{ref:path}")
async def stream(request: Request, ref: str, seat: str | None = None) -> StreamingResponse:
    reg, mgr = _registry(request), _manager(request)
    folder = reg.folder(ref)
    if not reg.exists(ref) and mgr.driven(ref) is None:
        raise UnknownRun(ref)
    if seat is not None and reg.exists(ref):
        run = reg.load(ref)
        if seat not in run.manifest.human_seats and seat not in run.delegations():
            raise HTTPException(404, f"no delegation {seat} in run {ref}")
    last = request.headers.get("last-event-id", "")
    offset = int(last) if last.isdigit() else 0

    def current() -> dict[str, Any]:
        out: dict[str, Any] = {"state": mgr.state(ref), "message": mgr.message(ref)}
        if seat is not None:
            out["pending"] = [p["key"] for p in mgr.pending(ref, seat)]
        return out

    async def state() -> dict[str, Any]:
        return await asyncio.to_thread(current)

    body = event_stream(
        folder / TRANSCRIPT_NAME,
        offset,
        seat=seat,
        state=state,
        version=lambda: mgr.version,
        stopping=request.app.state.settings.stopping,
    )
    return StreamingResponse(body, media_type="text/event-stream", headers={"x-accel-buffering": "no"})


@router.get("/api/pending/{ref:path}")
def pending(request: Request, ref: str, delegation: str | None = None) -> list[dict[str, Any]]:
    _run_or_404(request, ref)
    return _manager(request).pending(ref, delegation)


@router.post("/api/answer/{ref:path}", status_code=202)
def answer(request: Request, ref: str, body: AnswerIn) -> dict[str, str]:
    _run_or_404(request, ref)
    _manager(request).answer(ref, body)
    return {"key": body.key, "state": "answered"}


@router.get("/api/notes/{ref:path}")
def notes(request: Request, ref: str) -> list[dict[str, Any]]:
    run = _run_or_404(request, ref)
    return [n.model_dump() for n in read_annotations(run.folder)]


@router.post("/api/notes/{ref:path}", status_code=201)
def add_note(request: Request, ref: str, form: NoteForm) -> dict[str, Any]:
    run = _run_or_404(request, ref)
    return append_annotation(run, form.annotation()).model_dump()
