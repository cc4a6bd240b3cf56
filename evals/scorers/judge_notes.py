"""The judge's notes (``scores/<scorer>.notes.jsonl``): why each sample counted or not, and which units
therefore rest on no verified evidence.

One :class:`JudgeNote` per judge call (unit × judge model × sample): its status (``ok``, ``not_addressed``,
``unverified`` — a level whose quote is missing or not found verbatim — or ``invalid_reply``), the raw
level, the calibrated level and calibration where one was applied, and the reason.

:class:`NoteIndex` reads them back. A unit none of whose samples gave a valid answer (for its judge model;
for a pooled or combined panel score, for any member) is **unscored**, with the reason: "evidence failed
verification: …" when a sample gave a level it could not back with a verbatim quote, "no valid reply: …"
when every reply failed validation. :func:`apply_notes` makes such units unscored in a list of scores
(level, distribution and evidence removed) whatever the score file says, so that nothing downstream counts
a level that rests on evidence that failed verification.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from evals.scores_io import NOTES_SUFFIX, read_jsonl
from harness.schema import AxisScore

Status = Literal["ok", "not_addressed", "unverified", "invalid_reply"]
UnitKey = tuple[str, str, str, str]
"""(run id, move, delegation, axis)."""


class JudgeNote(BaseModel):
    """Why one sample counted or not (the AxisScore itself has no room for it)."""

    run_id: str
    move: str
    delegation: str
    axis: str
    model: str
    sample: int
    status: Status
    level: int | None = None
    """The level the judge gave (raw: before any calibration)."""
    calibrated_level: int | None = None
    calibration: str | None = None
    reason: str = ""


def notes_path(scores_file: str | Path) -> Path:
    """``scores/judge.jsonl`` → ``scores/judge.notes.jsonl``."""
    p = Path(scores_file)
    return p.with_name(p.stem + NOTES_SUFFIX)


def read_notes(path: str | Path) -> list[JudgeNote]:
    return read_jsonl(path, JudgeNote, "judge notes")


@dataclass(frozen=True)
class Unscored:
    """Why a unit has no level."""

    kind: Literal["unverified", "invalid_reply"]
    reason: str


def _failure(notes: Sequence[JudgeNote]) -> Unscored | None:
    if not notes or any(n.status in ("ok", "not_addressed") for n in notes):
        return None
    failed = [n for n in notes if n.status == "unverified"]
    if failed:
        return Unscored(
            "unverified",
            f"evidence failed verification ({len(failed)} of {len(notes)} sample(s)): {failed[0].reason}",
        )
    return Unscored("invalid_reply", f"no valid reply ({len(notes)} sample(s)): {notes[0].reason}")


class NoteIndex:
    """Notes by unit and judge model."""

    def __init__(self, notes: Iterable[JudgeNote]) -> None:
        self._by_unit: dict[UnitKey, dict[str, list[JudgeNote]]] = {}
        for n in notes:
            unit = (n.run_id, n.move, n.delegation, n.axis)
            self._by_unit.setdefault(unit, {}).setdefault(n.model, []).append(n)

    def failure(self, unit: UnitKey, model: str | None) -> Unscored | None:
        """Why ``unit`` (as scored by ``model``) has no valid sample; None when it has one or no notes."""
        per_model = self._by_unit.get(unit)
        if not per_model:
            return None
        if model in per_model:
            return _failure(per_model[model])
        return _failure([n for ns in per_model.values() for n in ns])  # a pooled or combined panel


def apply_notes(
    scores: Sequence[AxisScore], notes: Iterable[JudgeNote]
) -> tuple[list[AxisScore], dict[tuple[UnitKey, str | None], Unscored]]:
    """``scores`` with every unit whose notes show no valid sample made unscored, and why, by
    (unit, model)."""
    index = NoteIndex(notes)
    out: list[AxisScore] = []
    reasons: dict[tuple[UnitKey, str | None], Unscored] = {}
    for s in scores:
        unit = (s.run_id, s.move, s.delegation, s.axis)
        why = index.failure(unit, s.model)
        if why is None:
            out.append(s)
            continue
        reasons[(unit, s.model)] = why
        out.append(s.model_copy(update={"level": None, "dist": None, "evidence": [], "raw_level": None}))
    return out, reasons
