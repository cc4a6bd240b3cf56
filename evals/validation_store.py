"""Saved validations: each scorer's agreement with a gold set, kept so that the report can print it beside
the scorer's numbers.

``harness validate-scorer … --save`` writes ``<folder>/<scorer>.json`` (default folder: the package's
``evals/validation/``; ``--save-dir`` chooses another)::

    {"scorer": "judge",
     "records": [{"scorer": "judge", "model": "gpt-4o-mini", "calibration": "calibration.json@3f2a…",
                  "gold": "evals/gold/dev.jsonl", "gold_name": "gold", "split": "dev", "gold_sha256": "…",
                  "n": 69, "exact_accuracy": 0.62, "coverage": 0.8, "na_accuracy": 0.81, "kappa": 0.7,
                  "alpha": 0.66, "mean_signed_error": 0.1,
                  "axes": {"neo": {"n": 25, "exact_accuracy": …, …}, …},
                  "samples": 1, "date": "2026-12-01T10:00:00+00:00", "harness_version": "0.1.0"}]}

One record per source, gold set and split: ``model`` is the judge model the scores name (a panel's combined
label, e.g. ``majority:a+b``; a panel's members get records of their own), ``calibration`` the calibration
the scores carry. Saving again replaces the record of the same scorer, model, calibration, gold set and
split.

**Lookup** (:func:`find_validation`): folders are searched in the order given (the report passes the run's
own ``validation/``, the one beside the run folder, the ones beside the rubric folders the run used, then
the package's); the first folder whose ``<scorer>.json`` holds a record for the source — the same scorer,
model and calibration — wins. Within it the record on the most held-out split is taken (``test``, then
``dev``, then any other, then ``train``, then ``seed``), then the latest. None found: "not validated".
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

import harness
from evals.reliability import GoldSource
from harness.errors import DataError

log = logging.getLogger(__name__)

FIGURES = ("n", "exact_accuracy", "coverage", "na_accuracy", "kappa", "alpha", "mean_signed_error")
SPLIT_ORDER = {"test": 0, "dev": 1, "train": 3, "seed": 4}
"""Preference among a source's records: the most held-out split first (any other split ranks 2)."""


class ValidationRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")
    scorer: str
    model: str | None = None
    calibration: str | None = None
    gold: str
    gold_name: str
    split: str
    gold_sha256: str = ""
    n: int
    exact_accuracy: float | None = None
    coverage: float | None = None
    na_accuracy: float | None = None
    kappa: float | None = None
    alpha: float | None = None
    mean_signed_error: float | None = None
    axes: dict[str, dict[str, Any]] = {}
    samples: int | None = None
    date: str
    harness_version: str

    def same_slot(self, other: ValidationRecord) -> bool:
        return (self.scorer, self.model, self.calibration, self.gold_name, self.split) == (
            other.scorer,
            other.model,
            other.calibration,
            other.gold_name,
            other.split,
        )


class ValidationFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    scorer: str
    records: list[ValidationRecord] = []


def package_dir() -> Path:
    """``evals/validation/`` of the installed package."""
    return Path(str(files("evals") / "validation"))


def records_from_report(
    report: Mapping[str, Any],
    source: GoldSource,
    *,
    calibration: str | None = None,
    samples: int | None = None,
) -> list[ValidationRecord]:
    """The records a ``validate-scorer`` report yields: the scorer's, and one per panel member."""
    date = datetime.now(UTC).isoformat(timespec="seconds")
    reports = [report, *report.get("panel", {}).get("members", {}).values()]
    return [
        ValidationRecord(
            scorer=r["scorer"],
            model=r.get("model"),
            calibration=calibration,
            gold=r["gold"],
            gold_name=source.name,
            split=source.split,
            gold_sha256=source.sha256,
            **{k: r["overall"][k] for k in FIGURES},
            axes={axis: {k: fig[k] for k in FIGURES} for axis, fig in r["axes"].items()},
            samples=samples,
            date=date,
            harness_version=harness.__version__,
        )
        for r in reports
    ]


def read_validation(path: str | Path) -> ValidationFile:
    p = Path(path)
    try:
        return ValidationFile.model_validate(json.loads(p.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise DataError(str(p), f"not a validation file ({str(exc).splitlines()[0]})") from exc


def save_records(records: Iterable[ValidationRecord], folder: str | Path | None = None) -> list[Path]:
    """Merge ``records`` into ``<folder>/<scorer>.json`` (replacing same-slot records); the files written."""
    target = Path(folder) if folder is not None else package_dir()
    by_scorer: dict[str, list[ValidationRecord]] = {}
    for r in records:
        by_scorer.setdefault(r.scorer, []).append(r)
    written: list[Path] = []
    for scorer, new in by_scorer.items():
        path = target / f"{scorer}.json"
        kept = read_validation(path).records if path.is_file() else []
        kept = [old for old in kept if not any(old.same_slot(r) for r in new)] + new
        data = ValidationFile(scorer=scorer, records=kept)
        target.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=target)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(data.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(path)
    return written


def find_validation(
    scorer: str, model: str | None, calibration: str | None, folders: Iterable[Path]
) -> tuple[ValidationRecord, Path] | None:
    """The validation of one source (see the module doc), and the file it came from."""
    for folder in folders:
        path = folder / f"{scorer}.json"
        if not path.is_file():
            continue
        try:
            data = read_validation(path)
        except DataError as exc:
            log.warning("%s", exc)
            continue
        matches = [
            r for r in data.records if (r.scorer, r.model, r.calibration) == (scorer, model, calibration)
        ]
        if matches:
            matches.sort(key=lambda r: r.date, reverse=True)  # the latest first …
            matches.sort(key=lambda r: SPLIT_ORDER.get(r.split, 2))  # … within the most held-out split
            return matches[0], path
    return None
