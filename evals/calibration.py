"""Judge calibration: a monotone map from one judge model's raw levels to calibrated levels, fitted from its
confusion with gold labels on a training split (``harness calibrate-judge``) and applied by the judge
(``harness score --scorer judge --calibration FILE``, ``harness validate-scorer … --calibration FILE``).

**Fit** (per judge model): over the gold rows where both the gold label and the judge give a level, the
gold levels behind each raw level r. The map c is the isotonic (non-decreasing) median regression of gold
on raw: pool-adjacent-violators with medians, which minimises Σ |gold − c(raw)| among monotone maps. When
a pool has an even number of rows, any integer between its two middle values is a median; the one nearest
the pool's raw level is taken (then the lower), so calibration moves a level only as far as the data say.
A raw level the judge gave fewer than ``min_support`` times is not fitted: it keeps its own level, clamped
between its fitted neighbours' levels so that c stays monotone. "Not addressed" is never changed:
calibration maps levels; it does not decide whether a statement takes a position.

**Apply**: each verified sample's level goes through c, then the unit is aggregated exactly as before (the
mode of the samples), so the calibrated distribution is the raw distribution pushed through c. A score
records ``raw_level`` and ``calibration`` (``<file name>@<sha256 prefix>``); the judge notes record each
sample's raw and calibrated level.

The file (JSON; the confusion is gold × raw judge, as ``validate-scorer --json`` writes it)::

    {"kind": "judge-calibration", "version": 1, "method": "isotonic-median", "min_support": 3,
     "gold": "evals/gold/train.jsonl", "gold_name": "gold", "split": "train", "gold_sha256": "…",
     "samples": 1, "created": "2026-12-01T10:00:00+00:00", "harness_version": "0.1.0",
     "models": {"MODEL": {"mapping": {"0": 0, "1": 0, "2": 1, "3": 2, "4": 4},
                          "support": {"0": 0, "1": 3, "2": 3, "3": 3, "4": 6},
                          "n_rows": 17, "n_pairs": 15, "confusion": {…}}}}
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

import harness
from evals.reliability import Pairs, confusion, gold_source, read_gold, score_gold
from harness.errors import ConfigError, DataError
from harness.schema import LEVELS, Rubric

if TYPE_CHECKING:
    from harness.llm.base import ChatModel

log = logging.getLogger(__name__)

DEFAULT_MIN_SUPPORT = 3
"""Raw levels the judge gave fewer times than this on the training rows keep their own level."""


def _median_near(values: Sequence[int], target: float) -> int:
    """A median of ``values`` (sorted): of the integers between the two middle values, the one nearest
    ``target``, then the lower."""
    lo, hi = values[(len(values) - 1) // 2], values[len(values) // 2]
    return min(range(lo, hi + 1), key=lambda v: (abs(v - target), v))


def fit_map(
    pairs: Sequence[tuple[int, int]], *, levels: Sequence[int] = LEVELS, min_support: int = 1
) -> dict[int, int]:
    """The monotone map raw level → calibrated level from ``(gold, raw)`` pairs (both levels)."""
    by_raw = {r: sorted(g for g, raw in pairs if raw == r) for r in levels}
    fitted = [r for r in levels if len(by_raw[r]) >= max(1, min_support)]
    blocks: list[tuple[list[int], int]] = []  # (raw levels, value), values non-decreasing

    def value(raws: list[int]) -> int:
        pooled = sorted(g for r in raws for g in by_raw[r])
        weighted = sorted(r for r in raws for _ in by_raw[r])
        return _median_near(pooled, weighted[(len(weighted) - 1) // 2])

    for r in fitted:
        raws = [r]
        v = value(raws)
        while blocks and blocks[-1][1] > v:  # pool adjacent violators
            raws = blocks.pop()[0] + raws
            v = value(raws)
        blocks.append((raws, v))
    mapping = {r: v for raws, v in blocks for r in raws}
    for r in levels:
        if r in mapping:
            continue
        below = [mapping[f] for f in fitted if f < r]
        above = [mapping[f] for f in fitted if f > r]
        low = max(below) if below else levels[0]
        high = min(above) if above else levels[-1]
        mapping[r] = min(max(r, low), high)
    ordered = [mapping[r] for r in levels]
    assert ordered == sorted(ordered), "calibration map must be monotone"
    return {r: mapping[r] for r in levels}


class ModelCalibration(BaseModel):
    """One judge model's fitted map and the confusion it came from."""

    model_config = ConfigDict(extra="forbid")
    mapping: dict[int, int]
    support: dict[int, int]
    n_rows: int
    n_pairs: int
    confusion: dict[str, Any]

    @model_validator(mode="after")
    def _monotone_over_levels(self) -> ModelCalibration:
        if sorted(self.mapping) != list(LEVELS) or any(v not in LEVELS for v in self.mapping.values()):
            raise ValueError(f"mapping must take every level {list(LEVELS)} to a level")
        ordered = [self.mapping[r] for r in LEVELS]
        if ordered != sorted(ordered):
            raise ValueError("mapping must be monotone (non-decreasing)")
        return self

    def apply(self, level: int | None) -> int | None:
        return None if level is None else self.mapping[level]


def fit_model(rows: Pairs, *, min_support: int = DEFAULT_MIN_SUPPORT) -> ModelCalibration:
    """Fit one model's map from its ``(gold, raw)`` answers on the training rows (either may be null)."""
    both = [(g, p) for g, p in rows if g is not None and p is not None]
    return ModelCalibration(
        mapping=fit_map(both, min_support=min_support),
        support={r: sum(p == r for _, p in both) for r in LEVELS},
        n_rows=len(rows),
        n_pairs=len(both),
        confusion=confusion(rows),
    )


class CalibrationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["judge-calibration"] = "judge-calibration"
    version: Literal[1] = 1
    method: Literal["isotonic-median"] = "isotonic-median"
    min_support: int
    gold: str
    gold_name: str
    split: str
    gold_sha256: str
    samples: int
    created: str
    harness_version: str
    models: dict[str, ModelCalibration]


@dataclass(frozen=True)
class Calibration:
    """A calibration file as loaded, with the id scores record."""

    path: Path
    sha256: str
    data: CalibrationFile

    @property
    def id(self) -> str:
        return f"{self.path.name}@{self.sha256[:12]}"

    def for_model(self, model: str) -> ModelCalibration:
        found = self.data.models.get(model)
        if found is None:
            raise ConfigError(
                f"{self.path}: no calibration for judge model {model!r} "
                f"(it has: {', '.join(self.data.models) or 'none'}); run `harness calibrate-judge`"
            )
        return found


def load_calibration(path: str | Path) -> Calibration:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the calibration file ({exc.strerror or exc})") from exc
    try:
        data = CalibrationFile.model_validate(json.loads(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or None
        raise DataError(str(p), f"not a judge calibration file ({err['msg']})", field=field) from exc
    except ValueError as exc:
        raise DataError(str(p), f"not JSON ({exc})") from exc
    return Calibration(p, hashlib.sha256(raw).hexdigest(), data)


def write_calibration(path: str | Path, data: CalibrationFile) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    return p


def calibrate_models(
    gold_path: str | Path,
    models: Sequence[ChatModel],
    rubrics: Mapping[str, Rubric],
    *,
    samples: int = 1,
    seed: int = 0,
    concurrency: int = 4,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> CalibrationFile:
    """Score the gold rows with each judge model on its own (uncalibrated) and fit each model's map."""
    from evals.scorers.judge import JudgeScorer

    rows = read_gold(gold_path)
    source = gold_source(gold_path)
    fitted: dict[str, ModelCalibration] = {}
    for model in models:
        judge = JudgeScorer([model], samples=samples, seed=seed, concurrency=concurrency)
        results = score_gold(rows, judge, rubrics, gold_path)
        fitted[model.model] = fit_model([(r.row.level, r.level) for r in results], min_support=min_support)
        log.info("calibration of %s: %s", model.model, fitted[model.model].mapping)
    return CalibrationFile(
        min_support=min_support,
        gold=str(gold_path),
        gold_name=source.name,
        split=source.split,
        gold_sha256=source.sha256,
        samples=samples,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        harness_version=harness.__version__,
        models=fitted,
    )
