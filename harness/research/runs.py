"""The runs a research command reads: one run, or a batch folder's completed runs by condition."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.scores_io import read_scores, scores_path
from harness.batch.outputs import _atomic_write, read_index
from harness.errors import ConfigError
from harness.recorded import rubrics_of
from harness.schema import AxisScore
from harness.transcript import Run

log = logging.getLogger(__name__)


@dataclass
class RunGroup:
    """Runs of one condition (a batch's condition label, or the run id of a single run)."""

    label: str
    runs: list[Run]


def is_batch(folder: Path) -> bool:
    return (folder / "index.csv").is_file()


def groups_of(ref: str | Path, root: str | Path | None = None) -> tuple[Path, list[RunGroup]]:
    """``(folder, groups)``: a batch folder's completed runs by condition, or one run (folder, transcript
    or run id under ``root``). ``folder`` is where results are written."""
    path = Path(ref)
    if path.is_dir() and is_batch(path):
        groups: dict[str, list[Run]] = {}
        for row in read_index(path):
            if row.get("status") == "completed":
                groups.setdefault(str(row["condition"]), []).append(Run.load(path / row["run_id"]))
        if not groups:
            raise ConfigError(f"{path}: no completed run in this batch yet")
        return path, [RunGroup(label, runs) for label, runs in groups.items()]
    run = Run.load(ref, root)
    return run.folder, [RunGroup(run.run_id, [run])]


def scores_for(run: Run, scorer: str) -> list[AxisScore]:
    """The run's ``scores/<scorer>.jsonl``; an offline scorer's scores are computed when the file is missing
    (nothing is written); a judge's must have been written (``harness score`` or a batch)."""
    path = scores_path(run.folder, scorer)
    if path.is_file():
        return read_scores(path)
    from evals.scorers import build_scorer, scorer_info

    if scorer_info(scorer).needs_models:
        raise ConfigError(
            f"{run.run_id} has no {scorer} scores: run `harness score {run.folder} --scorer {scorer}`"
        )
    return build_scorer(scorer).score_run(run, rubrics_of(run.manifest))


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON atomically."""
    _atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path
