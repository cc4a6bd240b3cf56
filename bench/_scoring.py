"""B5's figures for the offline embedding scorers (``offline``, ``embed``), and timing helpers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._common import ROOT
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
