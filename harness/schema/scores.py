"""Scores: one ``AxisScore`` a line of ``scores/<scorer>.jsonl`` (docs/contract.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from harness.schema.base import LEVELS, Level, Strict

# --------------------------------------------------------------------------------------------------
# Scores (scores/<scorer>.jsonl)
# --------------------------------------------------------------------------------------------------


class Evidence(Strict):
    utterance_id: str
    quote: str


class AxisScore(Strict):
    run_id: str
    move: str
    delegation: str
    axis: str
    level: Level | None
    dist: list[float] | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    salience: Literal[0, 1, 2] | None = None
    scorer: str
    model: str | None = None
    samples: int = 1
    raw_level: Level | None = None
    """A calibrated score's level before calibration (``level`` is after it); ``None`` when uncalibrated."""
    calibration: str | None = None
    """Which calibration was applied (``<file>@<sha256 prefix>``); ``None``: the raw level is the level."""

    @field_validator("dist")
    @classmethod
    def _dist_shape(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if len(v) != len(LEVELS):
            raise ValueError(f"dist must have {len(LEVELS)} probabilities (p0..p4)")
        if any(p < 0 for p in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError("dist must be non-negative and sum to 1")
        return v
