"""Graph state and reducers.

The transcript is the record of every word; the graph state only carries what steers the exercise:
the current move, the moves played, the position cards (for branching) and the plenary round.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class ExerciseState(TypedDict, total=False):
    move: str | None  # the move being played (None once the last move is adjudicated)
    played: Annotated[list[str], operator.add]  # move ids, in order
    cards: Annotated[dict[str, Any], merge_dicts]  # "<move>/<delegation>" -> PositionCard as a dict
    plenary_round: int


class Task(TypedDict, total=False):
    """The payload of a ``Send`` to a per-delegation node."""

    move: str
    delegation: str
    round: int
