"""B5 scoring throughput (issue 11, run by run_bench.py): the offline scorers, ``stated`` and the LLM
judge on scripted transcripts; the figures for the embedding scorers (``offline``, ``embed``), and timing
helpers."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._common import DEFAULT, ROOT, RUBRICS, Section, fake_server, machine
from bench._common import md_table as _table
from bench._runs import CMD, models_for, one_run, open_model
from harness.context import Options
from harness.llm.fake import FakeCall, ScriptedModel, default_responder
from harness.transcript import Run


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}"


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of ``fn()``: on a shared machine the CPU figure says
    more about the code, the wall figure about what a user waits."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def throughput(n: int, wall: float, cpu: float, unit: str = "utterances/s") -> str:
    return f"**{rate(n, wall)} {unit}** ({rate(n, cpu)} per CPU-second)"


def embedding_rows(runs: list[Run], rubrics: dict[str, Any], tmp: Path) -> list[list[Any]]:
    """The `offline` and `embed` scorers: first use (model load, distilling the vocabulary into an empty
    cache) and then throughput; the full NumPy encoder for comparison."""
    from evals.scorers import build_scorer
    from evals.scorers.minilm import MiniLM, available, load_minilm, load_static, model_folder

    if not available():
        return [["offline / embed scorers", "not measured", "embedding model not installed (make install)"]]
    utterances = sum(len(r.utterances()) for r in runs)
    os.environ["HARNESS_CACHE_DIR"] = str(tmp / "b5-cache")  # an empty cache: first use distils
    load_minilm.cache_clear()
    load_static.cache_clear()
    t0 = time.perf_counter()
    offline = build_scorer("offline")
    offline.score_run(runs[0], rubrics)
    first = time.perf_counter() - t0
    distilled = len(load_static().vectors)
    rows: list[list[Any]] = [
        [
            "offline, first use",
            f"{first:.1f} s",
            f"model load + {distilled} token vectors distilled into an empty cache + one run",
        ]
    ]
    for name in ("offline", "embed"):
        scorer = build_scorer(name)
        wall, cpu = timed(lambda s=scorer: [s.score_run(r, rubrics) for r in runs])  # type: ignore[misc]
        rows.append([f"{name} scorer", throughput(utterances, wall, cpu), "warm, same runs"])
        print(f"B5 {name} {utterances / wall:,.0f} utterances/s ({utterances / cpu:,.0f} per CPU-second)")
    from evals.reliability import read_gold
    from evals.scorers.minilm import StaticMiniLM

    fresh = StaticMiniLM(load_minilm(), cache=tmp / "b5-cache-2")
    vocab = {
        t
        for row in read_gold(ROOT / "evals" / "gold" / "train.jsonl")
        for t in fresh.tokenizer.encode(row.text)
    }
    wall, _ = timed(lambda: fresh._distil(vocab))
    rows.append(
        [
            "distilling token vectors (first use of new words)",
            f"{rate(len(vocab), wall)} tokens/s",
            f"the {len(vocab):,} distinct tokens of the gold train split; then cached on disk",
        ]
    )
    texts = [u.text for u in runs[0].utterances()]
    full = MiniLM(model_folder())
    t0 = time.perf_counter()
    full.encode(texts)
    wall = time.perf_counter() - t0
    rows.append(
        [
            "full MiniLM encoder (NumPy), for comparison",
            f"{rate(len(texts), wall)} utterances/s",
            "every utterance through the 6 layers: why the scorers use the static vectors",
        ]
    )
    return rows


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
        _, run = asyncio.run(one_run(DEFAULT, tmp / "b5", models_for(model), Options(), f"s{i}"))
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
        model = open_model(url)
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
