"""Benchmarks B1–B5 (issue 7) against the fake OpenAI-compatible server; no model needed.

    .venv/bin/python bench/run_bench.py            # all (what `make bench` runs), < 10 minutes on 2 cores
    .venv/bin/python bench/run_bench.py --only B1,B4

Each benchmark prints its figures and replaces its section of bench/results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _overhead
from bench._common import (
    DEFAULT,
    PERSONAS,
    ROOT,
    RUBRICS,
    SMOKE,
    Bench,
    Section,
    fake_server,
    long_scenario,
    machine,
    run_selected,
)
from bench._common import md_table as _table
from bench._scoring import embedding_rows, rate, throughput, timed
from harness.batch import run_batch, scenario_calls
from harness.batch.spec import BackendSpec, Experiment, SamplingGrid, ScoringSpec
from harness.context import Options, approx_tokens
from harness.llm.fake import FakeCall, ScriptedModel, default_responder
from harness.loaders import load_scenario
from harness.runner import Models, RunRequest, start_run
from harness.schema import BackendInfo, Sampling
from harness.transcript import Run

CMD = ".venv/bin/python bench/run_bench.py"  # `make bench`
SMOKE_CRITICAL_PATH = 7


def _open(url: str) -> Any:
    from harness.llm.client import build_chat_model
    from harness.llm.config import resolve_backend

    return build_chat_model(resolve_backend("compatible", url, "fake-model", env={}, toml_path=None))


def _models(model: Any) -> Models:
    return Models(default=model, backend=BackendInfo(profile=model.backend, model=model.model))


async def _one_run(
    scenario: Path, out: Path, models: Models, options: Options, run_id: str, **kw: Any
) -> tuple[float, Run]:
    req = RunRequest(
        scenario=scenario,
        out_root=out,
        run_id=run_id,
        sampling=Sampling(seed=1, temperature=0.7),
        options=options,
        personas_dir=PERSONAS,
        rubrics_dir=RUBRICS,
    )
    t0 = time.perf_counter()
    result = await start_run(req, models, **kw)
    return time.perf_counter() - t0, Run.load(result.folder)


# ------------------------------------------------------------------------------------------------
# B1 orchestration efficiency
# ------------------------------------------------------------------------------------------------

B1_TARGET_GRAPH, B1_TARGET_PROCESS = 1.05, 1.10
# The figures before the group commit (issue 14): in the graph from bench/results.md as committed
# (500 ms, 2026-11-25) and from the "Why" (200 ms); whole process from the issue (11.4 s ÷ 8.2 s).
B1_PREVIOUS = {200.0: ("1.14–1.18", "1.39"), 500.0: ("1.040", "—")}


def _cli_run(url: str, out: Path, run_id: str, *extra: str) -> tuple[float, Run]:
    """``harness run`` of the default scenario in its own process; its wall time, start-up included."""
    cmd = [sys.executable, "-m", "harness", "run", str(DEFAULT), "--backend", "compatible"]
    cmd += ["--base-url", url, "--model", "fake-model", "--seed", "1", "--out", str(out)]
    cmd += ["--run-id", run_id, "--quiet", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"harness run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, Run.load(out / run_id)


def b1(tmp: Path, latencies: tuple[float, ...], repeats: int) -> Section:
    scenario = load_scenario(DEFAULT)
    rows: list[list[Any]] = []
    loads: list[float] = []
    speed = ""
    for latency_ms in latencies:
        lat = latency_ms / 1000
        graph: list[float] = []
        process: list[float] = []
        cp_s = 0.0
        calls = cp_calls = 0
        with fake_server("--latency-ms", f"{latency_ms:g}") as url:
            for i in range(repeats):
                loads.append(os.getloadavg()[0])
                wall, run = _cli_run(url, tmp / "b1", f"p{latency_ms:g}-{i}")
                end = run.run_end()
                assert end is not None and end.status == "completed"
                count = scenario_calls(scenario, moves=run.moves())
                cp_s, calls, cp_calls = count.critical_path * lat, end.totals.calls, count.critical_path
                graph.append(end.totals.wall_s / cp_s)
                process.append(wall / cp_s)
            if latency_ms == latencies[0]:
                seq_wall, _ = _cli_run(url, tmp / "b1", f"seq{latency_ms:g}", "--max-concurrency", "1")
                par = statistics.median(process) * cp_s
                speed = f"{seq_wall / par:.2f}× at {latency_ms:g} ms ({seq_wall:.1f} s ÷ {par:.1f} s)"
        g, w = statistics.median(graph), statistics.median(process)
        before_g, before_w = B1_PREVIOUS.get(latency_ms, ("—", "—"))
        rows.append(
            [
                f"{latency_ms:g}",
                calls,
                cp_calls,
                f"{cp_s:.2f}",
                f"**{g:.3f}** ({min(graph):.3f}–{max(graph):.3f})",
                before_g,
                f"≤ {B1_TARGET_GRAPH}",
                f"**{w:.3f}** ({min(process):.3f}–{max(process):.3f})",
                before_w,
                f"≤ {B1_TARGET_PROCESS}",
                f"{(g - 1) * lat * 1000:.0f}",
            ]
        )
        print(f"B1 {latency_ms:g} ms: in the graph {g:.3f}, whole process {w:.3f} (median of {repeats})")
    header = [
        "ms a call",
        "calls",
        "critical path (calls)",
        "critical path (s)",
        "in the graph ÷ critical path (median, range)",
        "before",
        "target",
        "whole process ÷ critical path (median, range)",
        "before",
        "target",
        "graph overhead per critical-path call (ms)",
    ]
    body = (
        "### B1 orchestration efficiency\n\n"
        f"Default scenario (`{DEFAULT.name}`, seed 1, `max_concurrency` 8) run by `harness run` in its own "
        "process against the fake server (`python -m harness.testserver --latency-ms N`, own process), "
        f"{repeats} runs per latency, medians. *In the graph* = `run_end.totals.wall_s` (graph start to "
        "end); "
        "*whole process* = the `harness run` process's wall time, interpreter start-up, imports and "
        "loading the YAML files included. Critical path = per move the slowest delegation's caucus turns "
        "+ card, the report, each plenary round's question + answer; plus the hot-wash, along the moves "
        "actually played, × the per-call latency. Durability as documented in docs/contract.md: one fsync "
        "(off the event loop) covers every event written before it; it is awaited before each model call "
        "and before each graph step's checkpoint.\n\n"
        + _table(header, rows)
        + f"\n\nThe sequential loop (one call after another, `--max-concurrency 1`, the way Snow Globe and "
        f"EscalAItion call agents, whole process) takes **{speed}** the harness's time. "
        "*Before*: the figures with one fsync per transcript event and an fsynced checkpoint commit per "
        "step (bench/results.md as committed for 500 ms in the graph; issue 14 for 200 ms). "
        f"The whole-process ratio includes the start-up of `harness run` (imports).\n\n"
        f"Load average while measuring (1 min): median {statistics.median(loads):.1f}, max {max(loads):.1f} "
        f"on {os.cpu_count()} cores (shared machine)."
        f"\n\nCommand: `{CMD} --only B1` · {machine()}"
    )
    return "B1", body


# ------------------------------------------------------------------------------------------------
# B2 harness overhead
# ------------------------------------------------------------------------------------------------


def b2(tmp: Path, repeats: int = 3) -> Section:
    load0 = os.getloadavg()[0]
    previous = _overhead.previous_figures("B2")
    deltas: list[float] = []
    walls: list[float] = []
    per_run: list[float] = []
    for i in range(repeats + 1):
        stamps: list[tuple[float, float]] = []

        def hook(what: str, info: dict[str, Any], stamps: list[tuple[float, float]] = stamps) -> None:
            if what == "call_end":
                stamps.append((time.process_time(), time.perf_counter()))

        model = ScriptedModel()
        c0, w0 = time.process_time(), time.perf_counter()
        asyncio.run(
            _one_run(DEFAULT, tmp / "b2", _models(model), Options(max_concurrency=1), f"r{i}", progress=hook)
        )
        cpu = time.process_time() - c0
        if i == 0:
            continue  # warm-up: imports, template compilation
        prev = (c0, w0)
        for c, w in stamps:
            deltas.append((c - prev[0]) * 1000)
            walls.append((w - prev[1]) * 1000)
            prev = (c, w)
        per_run.append(cpu * 1000 / len(stamps))
    whole = _overhead.whole_runs(repeats)
    http = _overhead.median([r.cpu_per_call_ms for r in whole])
    q = statistics.quantiles(deltas, n=20)
    med = statistics.median(deltas)
    print(
        f"B2 CPU per call median {med:.2f} ms, p95 {q[18]:.2f} ms (target ≤ 3); whole process {http:.2f} ms"
    )
    rows = [
        _overhead.figure_row("CPU ms per call (median)", med, 2, "≤ 5", previous, "0.74"),
        _overhead.figure_row("CPU ms per call (p95)", q[18], 2, "≤ 3", previous, "7.98"),
        _overhead.figure_row(
            "CPU ms per call (whole run ÷ calls, mean of runs)",
            statistics.fmean(per_run),
            2,
            "",
            previous,
            "2.66",
        ),
        _overhead.figure_row(
            "wall ms per call (median; includes one fsync per transcript event)",
            statistics.median(walls),
            2,
            "",
            previous,
            "0.87",
        ),
        _overhead.figure_row(HTTP_ROW, http, 2, "≤ 3", previous, "9"),
    ]
    body = (
        "### B2 harness overhead\n\nCPU time per model call with the model's latency taken out.\n\n"
        "*In process*: the default scenario on the scripted model (`ScriptedModel`, zero latency), one call "
        f"at a time, `time.process_time()` between consecutive calls' ends; {repeats} runs × "
        f"{len(deltas) // repeats} calls after a warm-up run. It covers graph scheduling, prompt rendering, "
        "checkpointing and the transcript write of every turn (the scripted model's own work is included "
        "and small).\n\n"
        "*Whole process over HTTP*: `harness run` of the default scenario as a user runs it (own process, "
        "`--quiet`), against the fake server answering at once (`FakeOpenAIServer` on a thread of the "
        "benchmark's process): (the process's CPU at exit, from `wait4`, − its CPU when the server received "
        "the first chat request, from `/proc/PID/stat`) ÷ the chat requests served; median of "
        f"{repeats} runs. Start-up (imports, loading the files, building the graph) is excluded; the run's "
        "end and the interpreter's exit are in. The start-up itself is in the start-up section.\n\n"
        + _table(_overhead.FIGURE_HEADER, rows)
        + "\n\n*Previous*: the figure this table held before this run (the first time: issue 14's). "
        + _overhead.load_note(load0, os.getloadavg()[0])
        + f"\n\nCommand: `{CMD} --only B2` · {machine()}"
    )
    return "B2", body


HTTP_ROW = "whole process over HTTP: CPU ms per call, start-up excluded (median)"


def startup(repeats: int = 5) -> Section:
    """``harness --help`` and ``harness run`` up to its first model call, each in its own process."""
    load0 = os.getloadavg()[0]
    previous = _overhead.previous_figures("STARTUP")
    helps = _overhead.help_runs(repeats)
    runs = _overhead.whole_runs(max(3, repeats // 2))
    reference = _overhead.reference_cpu()
    at_first = _overhead.median([r.cpu_at_first_s for r in runs])
    rows = [
        _overhead.figure_row(
            "`harness --help`: wall s (median)",
            _overhead.median([h.wall_s for h in helps]),
            2,
            "≤ 0.5",
            previous,
            "1.3",
        ),
        _overhead.figure_row(
            "`harness --help`: CPU s (median)",
            _overhead.median([h.cpu_s for h in helps]),
            2,
            "",
            previous,
            "—",
        ),
        _overhead.figure_row(
            "`harness run`: process start → first model call, wall s (median)",
            _overhead.median([r.first_call_s for r in runs]),
            2,
            "≤ 0.8",
            previous,
            "1.3",
        ),
        _overhead.figure_row(
            "`harness run`: CPU s at the first model call (median)", at_first, 2, "", previous, "1.3"
        ),
        _overhead.figure_row(
            f"reference: CPU s of `python -c '{_overhead.REFERENCE}'` (median of 3)",
            reference,
            2,
            "",
            previous,
            "—",
        ),
        _overhead.figure_row(
            "`harness run`: CPU at the first model call ÷ reference",
            at_first / reference,
            2,
            "",
            previous,
            "—",
        ),
    ]
    print(f"start-up: help {rows[0][1]} s, first call {rows[2][1]} s")
    body = (
        "### Start-up\n\n`harness --help`, and `harness run` of the default scenario from spawning "
        "the process to the fake server receiving its first chat request (the server answers at once, on "
        "a thread of the benchmark's process; `--quiet`), each in its own process: medians of "
        f"{len(helps)} and {len(runs)} runs after one warm-up of `--help`. CPU from `wait4` (help) and "
        "`/proc/PID/stat` at the first request (run, 10 ms resolution). The command modules import what "
        "a command needs inside it, so `--help` loads typer and rich only; `harness run` still imports "
        "LangGraph and the OpenAI SDK before its first call. The reference is a fixed workload outside "
        "the harness's code (importing those two libraries): it shows the machine's speed at the time, so "
        "figures from runs on other machines or loads compare through it.\n\n"
        + _table(_overhead.FIGURE_HEADER, rows)
        + "\n\n*Previous*: the figure this table held before this run (the first time: issue 14's, where "
        "1.3 s was the CPU start-up of `harness run` and the wall time of `--help`). "
        + _overhead.load_note(load0, os.getloadavg()[0])
        + f"\n\nCommand: `{CMD} --only STARTUP` · {machine()}"
    )
    return "STARTUP", body


# ------------------------------------------------------------------------------------------------
# B3 context growth
# ------------------------------------------------------------------------------------------------


WORDS = "we must coordinate with our allies on evacuation routes and the message to Beijing"


def _long_turns(call: FakeCall) -> Any:
    if call.response_model is not None:
        return default_responder(call)
    rng = random.Random(len(call.messages[-1]["content"]))
    words = WORDS.split()
    return " ".join(rng.choice(words) for _ in range(110)).capitalize() + "."


def b3(tmp: Path) -> Section:
    rows = []
    cap = Options().prompt_cap
    for n in (5, 10, 20):
        path = long_scenario(tmp / f"b3-{n}", n)
        model = ScriptedModel(_long_turns)
        asyncio.run(_one_run(path, tmp / "b3", _models(model), Options(), f"m{n}"))
        sizes = [sum(approx_tokens(m["content"]) for m in c.messages) for c in model.calls]
        last = sizes[-(len(sizes) // n) :]
        rows.append(
            [
                n,
                len(sizes),
                f"**{max(sizes):,}**",
                f"{statistics.fmean(sizes):,.0f}",
                f"{statistics.fmean(last):,.0f}",
            ]
        )
        print(f"B3 {n} moves: max {max(sizes)} mean {statistics.fmean(sizes):.0f} prompt tokens")
    body = (
        "### B3 context growth\n\nPrompt tokens per call (the harness's own estimate, ~3.2 "
        "characters a token, "
        f"the unit of `prompt_cap` = {cap:,}) for the default scenario's moves repeated to 5, 10 "
        "and 20 moves; "
        "scripted model whose spoken turns are ~110 words (a full `turn_tokens` reply).\n\n"
        + _table(["moves", "calls", "max prompt tokens", "mean prompt tokens", "mean, last move"], rows)
        + f"\n\nBounded: the maximum stays under the cap however long the exercise (earlier moves are "
        f"summarised, not replayed).\n\nCommand: `{CMD} --only B3` · {machine()}"
    )
    return "B3", body


# ------------------------------------------------------------------------------------------------
# B4 batch throughput
# ------------------------------------------------------------------------------------------------


def _experiment(url: str, conc: int, n_runs: int) -> Experiment:
    return Experiment(
        id=f"b4-{conc}",
        scenarios=[SMOKE],
        backends=[BackendSpec(name="fake", profile="compatible", base_url=url, model="fake-model")],
        sampling=SamplingGrid(temperature=[0.7], seed=list(range(1, n_runs + 1))),
        concurrency=conc,
        retries=0,
        scoring=ScoringSpec(n_boot=100),
    )


def _throughput(url: str, tmp: Path, executor: str, conc: int, n_runs: int) -> dict[str, float]:
    exp = _experiment(url, conc, n_runs)
    startup = [0.0]

    def hook(what: str, info: dict[str, Any]) -> None:
        if what == "workers_ready":
            startup[0] = float(info["seconds"])

    c0, t0 = time.process_time(), time.perf_counter()
    result = run_batch(exp, tmp / f"b4-{executor}-{conc}", executor=executor, progress=hook)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    assert result.count("completed") == n_runs, result.records
    return {
        "rate": n_runs / wall * 60,
        "warm": n_runs / (wall - startup[0]) * 60,
        "startup": startup[0],
        "cpu": (time.process_time() - c0) / wall,
    }


B4_TARGET = 0.90  # of ideal runs/min, at 16 and 64 in flight locally and 16 on Ray (issue 14)
# runs/min in bench/results.md as committed before issue 14 (2026-11-25), by (executor, concurrency)
B4_PREVIOUS = {
    ("local", 1): 8.2,
    ("local", 4): 32.8,
    ("local", 16): 123.7,
    ("local", 64): 353.9,
    ("ray", 1): 7.9,
    ("ray", 4): 28.5,
    ("ray", 16): 111.3,
}
B4_TARGETED = {("local", 16), ("local", 64), ("ray", 16)}


def b4(tmp: Path, latency_ms: float, local: tuple[int, ...], ray_levels: tuple[int, ...]) -> Section:
    per_run_s = SMOKE_CRITICAL_PATH * latency_ms / 1000
    rows: list[list[Any]] = []
    loads: list[float] = []

    def measure(url: str, executor: str, levels: tuple[int, ...]) -> None:
        base: float | None = None
        for conc in levels:
            n = 128 if conc >= 64 else max(3, 2 * conc)
            loads.append(os.getloadavg()[0])
            m = _throughput(url, tmp, executor, conc, n)
            base = base or m["warm"]
            ideal = 60 / per_run_s * conc
            prev = B4_PREVIOUS.get((executor, conc))
            extra = (
                f"driver CPU {m['cpu']:.0%}"
                if executor == "local"
                else f"actor start-up {m['startup']:.1f} s"
            )
            rows.append(
                [
                    executor,
                    conc,
                    n,
                    f"**{m['rate']:.1f}**",
                    f"{m['warm']:.1f}",
                    f"{ideal:.0f}",
                    f"**{m['rate'] / ideal:.0%}** ({m['warm'] / ideal:.0%})",
                    f"{prev:.1f} ({prev / ideal:.0%})" if prev is not None else "—",
                    f"≥ {B4_TARGET:.0%}" if (executor, conc) in B4_TARGETED else "",
                    f"{m['warm'] / base:.1f}×",
                    extra,
                ]
            )
            print(
                f"B4 {executor} concurrency {conc}: {m['rate']:.1f} runs/min ({m['warm']:.1f} warm), "
                f"{m['rate'] / ideal:.0%} of ideal"
            )

    with fake_server("--latency-ms", f"{latency_ms:g}") as url:
        measure(url, "local", local)
        if ray_levels:
            import ray

            ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
            try:
                measure(url, "ray", ray_levels)
            finally:
                ray.shutdown()
    header = [
        "executor",
        "concurrency",
        "runs",
        "runs/min",
        "runs/min after start-up",
        "ideal",
        "of ideal (after start-up)",
        "before: runs/min (of ideal)",
        "target",
        "speed-up",
        "",
    ]
    body = (
        "### B4 batch throughput\n\n`harness batch` of smoke-scenario runs (21 calls, critical path "
        f"{SMOKE_CRITICAL_PATH} calls) against the fake server at {latency_ms:g} ms per call (own process); "
        "scoring (rules + stated), index and summary included. Local: one asyncio process. Ray: a local "
        "instance `ray.init(num_cpus=2)`, simulations on async actors at 0.25 CPU each (2 actors from "
        "concurrency 4; their start-up is in *runs/min*, not in *after start-up*). Ideal = concurrency × "
        f"60 s ÷ ({SMOKE_CRITICAL_PATH} × {latency_ms:g} ms); speed-up is relative to concurrency 1 "
        "of the same "
        "executor.\n\n"
        + _table(header, rows)
        + "\n\n*Before*: bench/results.md as committed before issue 14 (one fsync per transcript event on "
        "the event loop). The transcript's fsyncs now run in threads, one per group of events, so they no "
        "longer block the loop; what remains at high concurrency is CPU (*driver CPU*: the share of one "
        "core the batch process used, scoring included). On this two-core machine the fake server, Ray's "
        "own processes and other users share the same cores, so Ray cannot do much better than the "
        "local executor here; it is the way past one machine's cores. One batch per row."
        f"\n\nLoad average while measuring (1 min): median {statistics.median(loads):.1f}, max "
        f"{max(loads):.1f} on {os.cpu_count()} cores (shared machine)."
        f"\n\nCommand: `{CMD} --only B4` · {machine()}"
    )
    return "B4", body


# ------------------------------------------------------------------------------------------------
# B5 scoring throughput
# ------------------------------------------------------------------------------------------------

SENTENCES = [
    "Japan must be ready to send SDF ships to Busan, with ROK consent, to carry our nationals home.",
    "We cannot accept Japanese troops on Korean soil; evacuation should use civilian charter flights.",
    "Beijing should hear our red lines but not our operational plans or timelines.",
    "We should consult China in detail and coordinate our messaging, including no forces north of "
    "the 38th parallel.",
    "The Senkakus need reinforcement now, even if that thins our support to the Peninsula.",
    "Every available asset should go to Korea; the East China Sea risk is acceptable for now.",
    "We will keep routine patrols near the Senkaku Islands but send nothing extra.",
    "Alliance solidarity matters more than anything else at this stage of the crisis.",
]


def _policy_turns(call: FakeCall) -> Any:
    if call.response_model is not None:
        return default_responder(call)
    rng = random.Random(len(call.messages[-1]["content"]))
    return " ".join(rng.sample(SENTENCES, 3))


def b5(tmp: Path, judge_latency_ms: float) -> Section:
    from evals.rubrics import load_rubrics
    from evals.scorers.judge import JudgeScorer
    from evals.scorers.rules import RulesScorer
    from evals.scorers.stated import StatedScorer

    rubrics = load_rubrics(RUBRICS)
    runs = []
    for i in range(4):
        model = ScriptedModel(_policy_turns)
        _, run = asyncio.run(_one_run(DEFAULT, tmp / "b5", _models(model), Options(), f"s{i}"))
        runs.append(run)
    rules = RulesScorer()
    rules.score_run(runs[0], rubrics)  # warm-up, as for the other scorers
    utterances = sum(len(r.utterances()) for r in runs)
    rules_s, rules_cpu = timed(lambda: [rules.score_run(r, rubrics) for r in runs])
    stated = StatedScorer()
    stated.score_run(runs[0], rubrics)  # loads the codebook
    cards = sum(len(r.cards()) for r in runs)
    t0 = time.perf_counter()
    for r in runs:
        stated.score_run(r, rubrics)
    stated_s = time.perf_counter() - t0
    embed_rows = embedding_rows(runs, rubrics, tmp)
    walls = {}
    with fake_server("--latency-ms", f"{judge_latency_ms:g}") as url:
        model = _open(url)
        try:
            for conc in (1, 16):
                judge = JudgeScorer([model], concurrency=conc)
                t0 = time.perf_counter()
                scores = judge.score_run(runs[0], rubrics)
                walls[conc] = time.perf_counter() - t0
        finally:
            model.close()
    ratio = walls[16] / walls[1]
    print(f"B5 rules {utterances / rules_s:,.0f} utterances/s; judge concurrent/sequential {ratio:.3f}")
    rows = [
        [
            "rules scorer",
            throughput(utterances, rules_s, rules_cpu),
            f"{utterances} utterances, {len(runs)} runs, 3 axes",
        ],
        *embed_rows,
        ["stated scorer", f"{rate(cards, stated_s)} cards/s", f"{cards} position cards"],
        [
            "judge, sequential (concurrency 1)",
            f"{walls[1]:.2f} s",
            f"{len(scores)} units × 1 sample, {judge_latency_ms:g} ms a call",
        ],
        ["judge, concurrent (concurrency 16)", f"{walls[16]:.2f} s", ""],
        ["judge wall ÷ sequential judge wall", f"**{ratio:.3f}**", f"{1 / ratio:.1f}× faster"],
    ]
    body = (
        "### B5 scoring throughput\n\nThe offline scorers (`rules`, `offline`, `embed`) and `stated` on "
        "default-scenario transcripts whose turns are policy sentences (scripted model); the LLM judge on "
        "one of them against the fake server (own process). Targets (issue 11): `rules` ≥ 1,000 and any "
        "embedding scorer ≥ 200 utterances/s. `offline` and `embed` read every utterance as `rules` does "
        "(discourse filters, relevance) and embed the statements on an axis with static token vectors "
        "distilled from all-MiniLM-L6-v2 (`evals/scorers/minilm.py`); a token is distilled once, then "
        "cached.\n\n"
        + _table(["figure", "value", "notes"], rows)
        + f"\n\nLoad average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other "
        "processes share the machine; the CPU-second figures are less sensitive to that than the wall "
        "figures)." + f"\n\nCommand: `{CMD} --only B5` · {machine()}"
    )
    return "B5", body


BENCHES: dict[str, Bench] = {
    "B1": lambda tmp, a: b1(tmp, tuple(a.latency_ms), a.repeats),
    "B2": lambda tmp, a: b2(tmp),
    "B3": lambda tmp, a: b3(tmp),
    "B4": lambda tmp, a: b4(tmp, a.batch_latency_ms, tuple(a.local), tuple(a.ray)),
    "B5": lambda tmp, a: b5(tmp, a.judge_latency_ms),
    "STARTUP": lambda tmp, a: startup(),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated: B1,B2,B3,B4,B5,STARTUP")
    parser.add_argument(
        "--latency-ms", type=float, nargs="+", default=[200.0, 500.0], help="B1 per-call latencies"
    )
    parser.add_argument("--repeats", type=int, default=3, help="B1 runs per latency (medians)")
    parser.add_argument("--batch-latency-ms", type=float, default=1000.0, help="B4 per-call latency")
    parser.add_argument("--judge-latency-ms", type=float, default=100.0, help="B5 judge per-call latency")
    parser.add_argument(
        "--local", type=int, nargs="*", default=[1, 4, 16, 64], help="B4 local concurrency levels"
    )
    parser.add_argument("--ray", type=int, nargs="*", default=[1, 4, 16], help="B4 Ray levels (none: skip)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.md alone")
    return run_selected(parser, BENCHES, argv, "bench")


if __name__ == "__main__":
    sys.exit(main())
