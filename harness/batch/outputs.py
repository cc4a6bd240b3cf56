"""What a batch leaves beside its run folders: ``index.csv``/``index.parquet`` and ``summary.json``/``.csv``.

The **index** has one row per planned run: its id, condition columns, seed, repetition, status, what was
done (started, resumed, skipped…), attempts, calls, tokens and wall time.

The **summary** aggregates each condition's completed runs, per scorer: per axis and delegation pair the
mean pairwise distance |x_i − x_j|/4 over moves and runs with a cluster-bootstrap CI over runs, and per
axis and delegation the distribution of levels (missing data counted apart, never as a level).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.metrics import pair_label, summarise
from evals.scores_io import read_scores, scores_path
from harness.batch.plan import CONDITION_COLUMNS, Plan
from harness.batch.worker import RunRecord
from harness.errors import DataError
from harness.schema import LEVELS, AxisScore

log = logging.getLogger(__name__)

INDEX_CSV = "index.csv"
INDEX_PARQUET = "index.parquet"
SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"

INDEX_COLUMNS = (
    "run_id",
    *CONDITION_COLUMNS,
    "seed",
    "rep",
    "run_seed",
    "status",
    "action",
    "attempts",
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "tokens",
    "wall_s",
    "error",
)
_INTS = {"seed", "rep", "run_seed", "attempts", "calls", "prompt_tokens", "completion_tokens", "tokens"}
_FLOATS = {"temperature", "wall_s"}


def index_rows(plan: Plan, records: Mapping[str, RunRecord]) -> list[dict[str, Any]]:
    rows = []
    for run in plan.runs:
        record = records.get(run.run_id) or RunRecord(run.run_id, "pending", action="not_started")
        rows.append({**run.columns(), **record.as_dict()})
    return [{c: row.get(c) for c in INDEX_COLUMNS} for row in rows]


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def write_index(out_dir: Path, rows: Sequence[Mapping[str, Any]], *, parquet: bool = True) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / INDEX_CSV]
    _atomic_write(written[0], _csv_text(rows, INDEX_COLUMNS))
    if parquet:
        path = write_parquet(out_dir / INDEX_PARQUET, rows)
        if path is not None:
            written.append(path)
    return written


def write_parquet(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path | None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        log.warning("pyarrow is not installed: %s not written (pip install pyarrow)", path.name)
        return None
    fields = [
        pa.field(c, pa.int64() if c in _INTS else pa.float64() if c in _FLOATS else pa.string())
        for c in INDEX_COLUMNS
    ]
    table = pa.Table.from_pylist([dict(r) for r in rows], schema=pa.schema(fields))
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def read_index(batch_dir: Path) -> list[dict[str, Any]]:
    """The index of a batch folder, typed (ints, floats, ``None`` for empty cells)."""
    path = batch_dir / INDEX_CSV
    if not path.is_file():
        raise DataError(str(path), "no batch index here: run `harness batch` first (or give --batch DIR)")
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, Any] = {}
            for k, v in raw.items():
                if v == "" or v is None:
                    row[k] = None
                elif k in _INTS:
                    row[k] = int(v)
                elif k in _FLOATS:
                    row[k] = float(v)
                else:
                    row[k] = v
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------
# summary
# ------------------------------------------------------------------------------------------------


def load_scores(folder: Path, scorer: str) -> list[AxisScore]:
    path = scores_path(folder, scorer)
    return read_scores(path) if path.is_file() else []


def axis_summary(scores: Sequence[AxisScore], *, n_boot: int, seed: int) -> dict[str, Any]:
    """Per axis: ``pairs`` (mean distance + CI over runs) and ``levels`` (per delegation), taken from the
    one divergence summary (:func:`evals.metrics.summarise`)."""
    out: dict[str, Any] = {}
    for a in summarise(scores, n_boot=n_boot, seed=seed, wasserstein=False).axes:
        out[a.axis] = {
            "pairs": {
                pair_label(f.pair): {
                    "mean": f.distance.estimate,
                    "low": f.distance.low,
                    "high": f.distance.high,
                    "n_runs": f.n_runs,
                }
                for f in a.pair_figures
            },
            "levels": {
                f.delegation: {
                    "n": f.distribution.n,
                    "missing": f.distribution.missing,
                    "p": f.distribution.probs,
                }
                for f in a.delegation_figures
            },
        }
    return out


def build_summary(
    plan: Plan,
    records: Mapping[str, RunRecord],
    out_dir: Path,
    *,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    scoring = plan.experiment.scoring
    counts: dict[str, int] = {}
    for run in plan.runs:
        status = records[run.run_id].status if run.run_id in records else "pending"
        counts[status] = counts.get(status, 0) + 1
    conditions = []
    for c in plan.conditions:
        done = [
            r
            for r in plan.runs
            if r.condition.label == c.label
            and r.run_id in records
            and records[r.run_id].status == "completed"
        ]
        entry: dict[str, Any] = {**c.columns(), "runs": len(done), "scores": {}}
        for scorer in scoring.scorers:
            scores = [s for r in done for s in load_scores(out_dir / r.run_id, scorer)]
            entry["scores"][scorer] = axis_summary(scores, n_boot=scoring.n_boot, seed=scoring.seed)
        conditions.append(entry)
    return {
        "experiment": plan.experiment.id,
        "scorers": list(scoring.scorers),
        "n_boot": scoring.n_boot,
        "confidence": 0.95,
        "runs": {"planned": len(plan.runs), **counts},
        **dict(extra or {}),
        "conditions": conditions,
    }


SUMMARY_COLUMNS = (
    *CONDITION_COLUMNS,
    "scorer",
    "axis",
    "kind",
    "key",
    "mean",
    "low",
    "high",
    "n_runs",
    "n",
    "missing",
    *(f"p{lv}" for lv in LEVELS),
)


def summary_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for c in summary["conditions"]:
        base = {k: c.get(k) for k in CONDITION_COLUMNS}
        for scorer, axes in c["scores"].items():
            for axis, a in axes.items():
                for pair, iv in a["pairs"].items():
                    rows.append(
                        {**base, "scorer": scorer, "axis": axis, "kind": "distance", "key": pair, **iv}
                    )
                for deleg, ld in a["levels"].items():
                    probs = ld["p"] or [None] * len(LEVELS)
                    row = {**base, "scorer": scorer, "axis": axis, "kind": "levels", "key": deleg}
                    row.update({"n": ld["n"], "missing": ld["missing"]})
                    row.update({f"p{lv}": p for lv, p in zip(LEVELS, probs, strict=True)})
                    rows.append(row)
    return rows


def write_summary(out_dir: Path, summary: Mapping[str, Any]) -> list[Path]:
    paths = [out_dir / SUMMARY_JSON, out_dir / SUMMARY_CSV]
    _atomic_write(paths[0], json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    _atomic_write(paths[1], _csv_text(summary_rows(summary), SUMMARY_COLUMNS))
    return paths
