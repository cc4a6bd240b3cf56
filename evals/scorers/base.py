"""The one scorer interface, and the unit helpers every scorer shares.

A **unit** is (move, delegation, axis) of one run (docs/evaluation.md). Scorers emit one
:class:`AxisScore` per unit for which they have material: the utterance scorers (``rules``,
``judge``) for every (move, delegation) that spoke in the move (caucus and plenary alike), ``stated``
for every position card. A unit they have no material for is simply absent: absent and
``level: null`` both mean missing data, never 0.
Hot-wash turns (reflections on where the allies diverged, not positions) and Control are not scored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from harness.schema import LEVELS, AxisScore, Rubric, UtteranceEvent
from harness.transcript import Run

_WS = re.compile(r"\s+")
UNSCORED_PHASES = frozenset({"hotwash", "control"})


@runtime_checkable
class Scorer(Protocol):
    """Anything that turns a run into axis scores."""

    name: str

    def score_run(self, run: Run, rubrics: Mapping[str, Rubric]) -> list[AxisScore]:
        """Scores for the axes in ``rubrics``, in run order (move, then delegation, then axis)."""
        ...


@runtime_checkable
class BatchScorer(Scorer, Protocol):
    """A scorer that can score several runs together (e.g. a judge: one event loop, shared concurrency)."""

    def score_runs(self, items: Sequence[tuple[Run, Mapping[str, Rubric]]]) -> list[list[AxisScore]]:
        """One list of scores per (run, rubrics) item, in order."""
        ...


def normalise_ws(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return _WS.sub(" ", text).strip()


def unit_utterances(run: Run) -> dict[tuple[str, str], list[UtteranceEvent]]:
    """``(move, delegation) -> utterances`` in transcript order (Control and hot-wash turns left out)."""
    units: dict[tuple[str, str], list[UtteranceEvent]] = {}
    for u in run.utterances():
        if u.delegation is None or u.phase in UNSCORED_PHASES or not u.text.strip():
            continue
        units.setdefault((u.move, u.delegation), []).append(u)
    return units


def one_hot(level: int | None) -> list[float] | None:
    if level is None:
        return None
    return [1.0 if lv == level else 0.0 for lv in LEVELS]


def mode_level(levels: list[int]) -> int | None:
    """The most frequent level; a tie goes to the tied level nearest the median (the lower of two)."""
    if not levels:
        return None
    counts = {lv: levels.count(lv) for lv in set(levels)}
    top = max(counts.values())
    tied = sorted(lv for lv, c in counts.items() if c == top)
    ordered = sorted(levels)
    median = (ordered[(len(ordered) - 1) // 2] + ordered[len(ordered) // 2]) / 2
    return min(tied, key=lambda lv: (abs(lv - median), lv))
