"""Reliability benchmarks R1–R2 (issue 15) against the fake OpenAI-compatible server; no model needed.

    .venv/bin/python bench/run_reliability.py                 # both (part of `make bench`), ~5 minutes
    .venv/bin/python bench/run_reliability.py --only R2 --kills 60

R1 fault soak: N smoke runs while the server injects faults (429, 500, hangs past the client timeout,
dropped connections, truncated JSON bodies, replies that are not JSON) into 20 % and 40 % of its answers.
R2 kill soak: the default scenario SIGKILLed at random moments and resumed, M times, each run compared
with an uninterrupted reference run (keys lost, keys written twice, turns whose text differs).
Each replaces its section of bench/results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import DEFAULT, PERSONAS, ROOT, RUBRICS, SMOKE, fake_server, machine, run_selected
from bench._common import md_table as _table
from harness.errors import HarnessError
from harness.runner import Models, RunRequest, resume_run, start_run
from harness.schema import BackendInfo, Sampling
from harness.transcript import TRANSCRIPT_NAME, Run

CMD = ".venv/bin/python bench/run_reliability.py"  # `make bench`
FAULTS = "429,500,hang:{hang},drop,malformed,badjson"
NUMBERED = ("run_end/", "resume/")  # keys numbered per attempt: one per attempt by design


def raw_events(transcript: Path) -> list[dict[str, Any]]:
    """Every complete line of a transcript as written (duplicates and all)."""
    out = []
    for line in transcript.read_bytes().splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


@dataclass
class Compared:
    """A run's transcript against the reference run's, over the moves both played."""

    lost: set[str] = field(default_factory=set)
    duplicated: set[str] = field(default_factory=set)
    extra: set[str] = field(default_factory=set)
    text_differs: set[str] = field(default_factory=set)
    errors: int = 0
    moves_not_compared: int = 0
    model_turns: int = 0


def _texts(events: list[dict[str, Any]]) -> dict[str, str]:
    return {e["key"]: json.dumps(e.get("text", e.get("card"))) for e in events if e["event"] != "manifest"}


def _moves(events: list[dict[str, Any]]) -> set[str]:
    return {e["move"] for e in events if e["event"] == "inject"}


def compare(transcript: Path, reference: list[dict[str, Any]]) -> Compared:
    """Keys lost, written twice, or extra against ``reference``; a move only one of the two runs played
    (another branch was taken) is left out of the key comparison and counted."""
    events = raw_events(transcript)
    counts = Counter(e["key"] for e in events)
    mine, theirs = _moves(events), _moves(reference)
    unshared = mine ^ theirs

    def compared(key: str) -> bool:
        return not key.startswith(NUMBERED) and key.split("/", 1)[0] not in unshared

    keys = {k for k in counts if compared(k)}
    ref_keys = {e["key"] for e in reference if compared(e["key"])}
    error_of = {k.removesuffix("/error") for k in keys if k.endswith("/error")}
    ref_text, text = _texts(reference), _texts(events)
    return Compared(
        lost={k for k in ref_keys - keys if k not in error_of},
        duplicated={k for k, c in counts.items() if c > 1},
        extra={k for k in keys - ref_keys if not k.endswith("/error")},
        text_differs={k for k in keys & ref_keys if text.get(k) != ref_text.get(k)},
        errors=sum(1 for e in events if e["event"] == "error"),
        moves_not_compared=len(unshared),
        model_turns=sum(1 for e in events if e.get("usage")),
    )


# ------------------------------------------------------------------------------------------------
# R1 fault soak
# ------------------------------------------------------------------------------------------------


def _models(url: str, timeout_s: float) -> Models:
    from harness.llm.client import build_chat_model
    from harness.llm.config import resolve_backend

    config = resolve_backend("compatible", url, "fake-model", env={}, toml_path=None)
    model = build_chat_model(config.model_copy(update={"timeout": timeout_s}))
    return Models(default=model, backend=BackendInfo(profile=model.backend, model=model.model))


@dataclass
class SoakRow:
    rate: float
    runs: int = 0
    first_try: int = 0
    after_resume: int = 0
    resumes: int = 0
    lost: int = 0
    duplicated: int = 0
    error_events: int = 0
    calls: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    walls: list[float] = field(default_factory=list)


async def _soak_runs(url: str, out: Path, row: SoakRow, n: int, timeout_s: float, max_resumes: int) -> None:
    models = _models(url, timeout_s)
    try:
        for i in range(n):
            req = RunRequest(
                scenario=SMOKE,
                out_root=out,
                run_id=f"faults-{row.rate:g}-{i}",
                sampling=Sampling(seed=7, temperature=0.7),
                personas_dir=PERSONAS,
                rubrics_dir=RUBRICS,
            )
            t0 = time.perf_counter()
            result = await start_run(req, models)
            status = result.status
            if status == "completed":
                row.first_try += 1
            for _ in range(max_resumes):
                if status == "completed":
                    break
                row.resumes += 1
                status = (await resume_run(result.folder, models, out_root=out)).status
                if status == "completed":
                    row.after_resume += 1
            row.walls.append(time.perf_counter() - t0)
            row.runs += 1
    finally:
        await models.default.aclose()  # type: ignore[attr-defined]


def r1(tmp: Path, args: argparse.Namespace) -> tuple[str, str]:
    reference_out = tmp / "r1-reference"
    with fake_server("--latency-ms", f"{args.latency_ms:g}") as url:
        row = SoakRow(rate=0.0)
        asyncio.run(_soak_runs(url, reference_out, row, 1, args.timeout_s, 0))
    reference = raw_events(reference_out / "faults-0-0" / TRANSCRIPT_NAME)
    rows: list[SoakRow] = []
    for rate in args.rates:
        row = SoakRow(rate=rate)
        out = tmp / f"r1-{rate:g}"
        faults = FAULTS.format(hang=f"{args.hang_s:g}")
        server_args = [
            "--latency-ms",
            f"{args.latency_ms:g}",
            "--fault-rate",
            f"{rate:g}",
            "--faults",
            faults,
        ]
        server_args += ["--retry-after", "0.2", "--seed", str(args.seed)]
        t0 = time.perf_counter()
        with fake_server(*server_args) as url:
            asyncio.run(_soak_runs(url, out, row, args.runs, args.timeout_s, args.max_resumes))
            stats = _stats(url)
        row.wall_s = time.perf_counter() - t0
        row.calls, row.faults = stats["chat_requests"], Counter(stats["faults"])
        for folder in sorted(out.iterdir()):
            c = compare(folder / TRANSCRIPT_NAME, reference)
            row.lost += len(c.lost)
            row.duplicated += len(c.duplicated)
            row.error_events += c.errors
        rows.append(row)
        print(
            f"R1 {rate:.0%}: {row.first_try}/{row.runs} completed first time, "
            f"{row.first_try + row.after_resume}/{row.runs} with resumes; lost {row.lost}, "
            f"duplicated {row.duplicated}; {row.wall_s:.0f} s"
        )
    table = _table(
        [
            "fault rate",
            "runs",
            "completed (no resume)",
            "completed (≤ " + str(args.max_resumes) + " resumes)",
            "lost turns",
            "duplicated turns",
            "error events",
            "chat requests",
            "faults injected",
            "wall per run (s, median)",
            "soak wall (s)",
        ],
        [
            [
                f"{r.rate:.0%}",
                r.runs,
                f"**{r.first_try}/{r.runs}**",
                f"{r.first_try + r.after_resume}/{r.runs}",
                r.lost,
                r.duplicated,
                r.error_events,
                r.calls,
                ", ".join(f"{k} {v}" for k, v in sorted(r.faults.items())),
                f"{sorted(r.walls)[len(r.walls) // 2]:.1f}",
                f"{r.wall_s:.0f}",
            ]
            for r in rows
        ],
    )
    body = (
        "### R1 fault soak\n\n"
        f"{args.runs} runs of the smoke scenario per fault rate against the fake server (own process, "
        f"{args.latency_ms:g} ms a call), which answers that share of chat requests with a fault drawn "
        f"evenly from `{FAULTS.format(hang=f'{args.hang_s:g}')}`: HTTP 429 (retry-after 0.2 s) and 500, "
        f"a hang of {args.hang_s:g} s against a client timeout of {args.timeout_s:g} s, a connection "
        "closed with no answer, a truncated JSON body, and a reply whose content is not JSON (a "
        "position card is then re-asked, twice at most, then recorded as an `error` event). The "
        "client's own retry budget (5 attempts) is the default. A run the backend leaves `interrupted` "
        f"is resumed, {args.max_resumes} times at most. Lost turns are keys of a fault-free reference "
        "run missing with no `error` event in their place; duplicated turns are keys written twice.\n\n"
        + table
        + "\n\nTarget: 100 % of runs completed at 20 % faults.\n\n"
        + f"Command: `{CMD} --only R1` · {machine()}"
    )
    return "R1", body


def _stats(url: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=10) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


# ------------------------------------------------------------------------------------------------
# R2 kill soak
# ------------------------------------------------------------------------------------------------


def _cli(args: list[str], url: str, out: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "OPENAI_"))}
    backend = ["--backend", "compatible", "--base-url", url, "--model", "fake-model"]
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *args, *backend, "--out", str(out), "--quiet"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes nothing else with it
    )


def _lines(transcript: Path) -> int:
    try:
        return transcript.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@dataclass
class KillLog:
    mode: str
    concurrency: int
    kills: int = 0
    kills_before_start: int = 0
    kills_after_end: int = 0
    finished_before_kill: int = 0
    victims: int = 0
    completed: int = 0
    failed: list[str] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    extra: int = 0
    text_differs: int = 0
    moves_not_compared: int = 0
    kill_points: list[int] = field(default_factory=list)  # transcript lines at each kill
    calls: int = 0
    model_turns: int = 0
    reference_calls: int = 0
    reference_events: int = 0
    reference_wall: float = 0.0
    startup_s: float = 0.0
    wall_s: float = 0.0


def _reference(url: str, out: Path, concurrency: int) -> tuple[list[dict[str, Any]], float, float]:
    """An uninterrupted run: its events, its wall time and when its transcript appeared (process start)."""
    transcript = out / "reference" / TRANSCRIPT_NAME
    t0 = time.perf_counter()
    args = [
        "run",
        str(DEFAULT),
        "--run-id",
        "reference",
        "--seed",
        "7",
        "--max-concurrency",
        str(concurrency),
    ]
    proc = _cli(args, url, out)
    startup = 0.0
    while proc.poll() is None:
        if not startup and transcript.exists():
            startup = time.perf_counter() - t0
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    assert proc.stderr is not None
    if proc.returncode != 0:
        raise SystemExit(f"R2 reference run failed: {proc.stderr.read().decode()[-500:]}")
    return raw_events(transcript), wall, startup or wall / 2


def kill_soak(tmp: Path, args: argparse.Namespace, mode: str, concurrency: int, kills: int) -> KillLog:
    rng = random.Random(f"{args.seed}-{mode}")
    out = tmp / f"r2-{mode}"
    log = KillLog(mode, concurrency)
    with fake_server("--latency-ms", f"{args.kill_latency_ms:g}") as url:
        reference, log.reference_wall, log.startup_s = _reference(url, out, concurrency)
        log.reference_events = len(reference)
        log.reference_calls = _stats(url)["chat_requests"]
        started = time.perf_counter()
        while log.kills < kills:
            log.victims += 1
            run_id = f"victim-{log.victims}"
            transcript = out / run_id / TRANSCRIPT_NAME
            kills_here = 0
            while True:
                resume = transcript.exists()  # killed before its first event: start it again
                command = ["resume", run_id] if resume else ["run", str(DEFAULT), "--run-id", run_id]
                command += ["--max-concurrency", str(concurrency)] + ([] if resume else ["--seed", "7"])
                proc = _cli(command, url, out)
                may_kill = log.kills < kills and kills_here < args.kills_per_run
                # within the work left: a resumed run has only the rest of the reference's to do
                left = max(0.1, 1.0 - _lines(transcript) / log.reference_events)
                work = (log.reference_wall - log.startup_s) * left
                wait = rng.uniform(log.startup_s, log.startup_s + work) if may_kill else 600.0
                try:
                    _, err = proc.communicate(timeout=wait)
                except subprocess.TimeoutExpired:
                    at = _lines(transcript)
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    if at == 0:
                        log.kills_before_start += 1
                        continue
                    if _is_completed(out / run_id):  # killed on its way out: nothing left to resume
                        log.kills_after_end += 1
                        break
                    log.kill_points.append(at)
                    log.kills += 1
                    kills_here += 1
                    continue
                if may_kill:
                    log.finished_before_kill += 1
                if proc.returncode != 0:
                    log.failed.append(
                        f"{run_id}: exit {proc.returncode}: {' '.join(err.decode()[-300:].split())}"
                    )
                break
            log.completed += _is_completed(out / run_id)
            c = compare(transcript, reference)
            log.lost += len(c.lost)
            log.duplicated += len(c.duplicated)
            log.extra += len(c.extra)
            log.text_differs += len(c.text_differs)
            log.moves_not_compared += c.moves_not_compared
            log.model_turns += c.model_turns
            print(
                f"R2 {mode} {run_id}: {kills_here} kills, lost {len(c.lost)}, duplicated "
                f"{len(c.duplicated)}, text differs {len(c.text_differs)}, moves not compared "
                f"{c.moves_not_compared}"
            )
        log.wall_s = time.perf_counter() - started
        log.calls = _stats(url)["chat_requests"] - log.reference_calls
    return log


def r2(tmp: Path, args: argparse.Namespace) -> tuple[str, str]:
    logs = [
        kill_soak(tmp, args, "sequential", 1, args.kills),
        kill_soak(tmp, args, "parallel", 8, args.parallel_kills),
    ]
    for log in logs:
        print(
            f"R2 {log.mode}: {log.kills} kills over {log.victims} runs, {log.completed} completed; "
            f"lost {log.lost}, duplicated {log.duplicated}; {log.wall_s:.0f} s"
        )

    def points(log: KillLog) -> str:
        p = sorted(log.kill_points)
        return f"{p[0]}–{p[-1]} of {log.reference_events} (median {p[len(p) // 2]})" if p else "—"

    figures: list[tuple[str, Callable[[KillLog], object]]] = [
        ("SIGKILL + resume cycles", lambda g: f"**{g.kills}** over {g.victims} runs"),
        ("runs completed after their kills", lambda g: f"**{g.completed}/{g.victims}**"),
        ("lost turns", lambda g: f"**{g.lost}**"),
        ("duplicated turns", lambda g: f"**{g.duplicated}**"),
        ("keys not in the reference", lambda g: g.extra),
        (
            "turns whose text differs from the reference",
            lambda g: g.text_differs if g.concurrency == 1 else "— (not reproducible, see above)",
        ),
        ("moves left out (another branch than the reference's)", lambda g: g.moves_not_compared),
        ("transcript lines at the kills", points),
        ("kills before the first event (not counted)", lambda g: g.kills_before_start),
        ("kills after `run_end` was written (not counted)", lambda g: g.kills_after_end),
        ("resumes that ended before their kill", lambda g: g.finished_before_kill),
        ("model calls repeated (in flight at a kill)", lambda g: g.calls - g.model_turns),
        ("reference run wall (process)", lambda g: f"{g.reference_wall:.1f} s"),
        ("soak wall", lambda g: f"{g.wall_s:.0f} s"),
    ]
    rows = [[name, *(str(get(g)) for g in logs)] for name, get in figures]
    failed = [f for g in logs for f in g.failed]
    body = (
        "### R2 kill soak\n\n"
        f"The default scenario (`{DEFAULT.name}`, seed 7) through the CLI (`harness run`, then "
        f"`harness resume`) against the fake server (own process, {args.kill_latency_ms:g} ms a call), "
        "its process group killed with SIGKILL at a moment drawn uniformly over the work it has left (from "
        "the reference run's first transcript line to its end, shortened by the share of the reference's "
        "events already written), then resumed; each run is killed "
        f"{args.kills_per_run} times at most, then resumed to the end and compared key by key with an "
        "uninterrupted reference run of the same seed. Sequential (`--max-concurrency 1`): the run is "
        "reproducible call for call, so keys *and* texts must match the reference. Parallel (the default, "
        "several calls in flight at each kill): the plenary record follows the order in which replies "
        "arrive, so later cards, branches and texts may differ from any other run; keys are compared over "
        "the moves both runs played.\n\n"
        + _table(["figure", "sequential", "parallel"], rows)
        + ("\n\nFailures: " + "; ".join(failed) if failed else "")
        + "\n\nTargets: 0 lost and 0 duplicated turns over ≥ 30 kill cycles.\n\n"
        + f"Command: `{CMD} --only R2` · {machine()}"
    )
    return "R2", body


def _is_completed(folder: Path) -> bool:
    try:
        end = Run.load(folder).run_end()
    except HarnessError:
        return False
    return end is not None and end.status == "completed"


BENCHES = {"R1": r1, "R2": r2}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated: R1,R2")
    parser.add_argument("--runs", type=int, default=20, help="R1 smoke runs per fault rate")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.2, 0.4], help="R1 fault rates")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="R1 per-call latency")
    parser.add_argument("--hang-s", type=float, default=4.0, help="R1 length of an injected hang")
    parser.add_argument("--timeout-s", type=float, default=2.0, help="R1 client timeout per request")
    parser.add_argument("--max-resumes", type=int, default=3, help="R1 resumes of an interrupted run")
    parser.add_argument("--kills", type=int, default=30, help="R2 SIGKILL + resume cycles, sequential")
    parser.add_argument("--parallel-kills", type=int, default=15, help="R2 cycles, parallel breakouts")
    parser.add_argument("--kills-per-run", type=int, default=8, help="R2 most kills of one run")
    parser.add_argument("--kill-latency-ms", type=float, default=30.0, help="R2 per-call latency")
    parser.add_argument("--seed", type=int, default=15, help="fault draws and kill moments")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.md alone")
    logging.getLogger("harness").setLevel(logging.ERROR)  # retry warnings are the point here, not news
    return run_selected(parser, BENCHES, argv, "reliability")


if __name__ == "__main__":
    sys.exit(main())
