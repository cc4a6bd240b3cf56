"""The shared ground of every metric: scores indexed by unit, the level scale, pairs and means.

Conventions: delegations and pairs come from the data (never a fixed list); a pair is the two ids in sorted
order; moves keep the order in which the runs played them. ``None`` is missing data and stays missing: a
distance with one side unscored is ``None``, never 0 or the midpoint, and means skip it. A table holds one
source's scores (one scorer, one judge model): a unit scored twice is an error (split a panel's scores by
model first, see :func:`split_by_source`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

from harness.errors import HarnessError
from harness.schema import LEVELS, AxisScore, Rubric

Pair = tuple[str, str]
Scale = tuple[int, ...]
"""The ordered levels of an axis, from its rubric (every shipped rubric: 0..4)."""


def scale_of(rubric: Rubric) -> Scale:
    return tuple(sorted(rubric.levels))


def scales_of(rubrics: Mapping[str, Rubric]) -> dict[str, Scale]:
    return {axis: scale_of(r) for axis, r in rubrics.items()}


def max_gap(scale: Sequence[int]) -> float:
    """The widest possible distance on a scale (distances are divided by it: 0 = same, 1 = opposite ends)."""
    return float(scale[-1] - scale[0])


def pair_label(pair: Pair) -> str:
    return f"{pair[0]}–{pair[1]}"


def mean_or_none(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def split_by_source(scores: Iterable[AxisScore]) -> dict[tuple[str, str | None], list[AxisScore]]:
    """Scores grouped by (scorer, model): each group is one rater."""
    out: dict[tuple[str, str | None], list[AxisScore]] = {}
    for s in scores:
        out.setdefault((s.scorer, s.model), []).append(s)
    return out


def source_label(scorer: str, model: str | None) -> str:
    """How a source is named in tables and the report: the scorer, and the judge model where there is one."""
    return f"{scorer} ({model})" if model else scorer


class ScoreTable:
    """Levels by unit (run, move, axis, delegation) plus the orders in which the data has them."""

    def __init__(self, scores: Iterable[AxisScore], scales: Mapping[str, Scale] | None = None) -> None:
        self.levels: dict[tuple[str, str, str, str], int | None] = {}
        self.moves: dict[str, list[str]] = {}
        self.delegations: dict[str, list[str]] = {}
        self.axes: list[str] = []
        self.scales = dict(scales or {})
        for s in scores:
            key = (s.run_id, s.move, s.axis, s.delegation)
            if key in self.levels:
                raise HarnessError(
                    f"{s.run_id} {s.move} {s.delegation} {s.axis}: scored twice (use one scorer and model)"
                )
            self.levels[key] = s.level
            for bucket, item in ((self.moves, s.move), (self.delegations, s.delegation)):
                seen = bucket.setdefault(s.run_id, [])
                if item not in seen:
                    seen.append(item)
            if s.axis not in self.axes:
                self.axes.append(s.axis)

    @property
    def runs(self) -> list[str]:
        return list(self.moves)

    def scale(self, axis: str) -> Scale:
        return self.scales.get(axis, LEVELS)

    def level(self, run: str, move: str, axis: str, delegation: str) -> int | None:
        return self.levels.get((run, move, axis, delegation))

    def pairs(self, run: str) -> list[Pair]:
        return list(combinations(sorted(self.delegations.get(run, [])), 2))

    def all_pairs(self) -> list[Pair]:
        return sorted({p for run in self.runs for p in self.pairs(run)})

    def all_moves(self, order: Sequence[str] = ()) -> list[str]:
        """Moves in ``order`` first, then in the order the runs played them."""
        seen = list(dict.fromkeys(m for r in self.runs for m in self.moves[r]))
        return [m for m in order if m in seen] + [m for m in seen if m not in order]

    def all_delegations(self) -> list[str]:
        return sorted({d for r in self.runs for d in self.delegations[r]})
