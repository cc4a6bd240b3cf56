"""What run_bench.py's benchmarks share: its command line (each section names it) and one in-process run
of a scenario on a given model, timed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench._common import PERSONAS, RUBRICS
from harness.context import Options
from harness.runner import Models, RunRequest, start_run
from harness.schema import BackendInfo, Sampling
from harness.transcript import Run

CMD = ".venv/bin/python bench/run_bench.py"  # `make bench`


def open_model(url: str) -> Any:
    """A chat model on the OpenAI-compatible server at ``url`` (the fake server's ``fake-model``)."""
    from harness.llm.client import build_chat_model
    from harness.llm.config import resolve_backend

    return build_chat_model(resolve_backend("compatible", url, "fake-model", env={}, toml_path=None))


def models_for(model: Any) -> Models:
    """The ``Models`` of a run on ``model`` alone."""
    return Models(default=model, backend=BackendInfo(profile=model.backend, model=model.model))


async def one_run(
    scenario: Path, out: Path, models: Models, options: Options, run_id: str, **kw: Any
) -> tuple[float, Run]:
    """``start_run`` of ``scenario`` (seed 1, temperature 0.7); its wall time and the run it wrote."""
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
