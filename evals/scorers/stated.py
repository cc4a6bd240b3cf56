"""The ``stated`` scorer: what a delegation's Position Card says its position is.

One score per (card, axis): level = the card's stance level (null if the card leaves the axis open or has
no stance for it), ``dist`` one-hot, evidence = the stance's rationale cited to the position-card event's
key. Salience: 2 when the card's answers, requests or red lines also speak to the axis, 1 when only the
stance does, 0 when nothing does. "Speaks to the axis" uses the rules codebook's relevance lexicon (the
one transparent word list the project keeps), or the rubric title's words for an axis it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from evals.scorers.base import one_hot
from evals.scorers.rules import Codebook, load_codebook
from harness.schema import AxisScore, Evidence, PositionCard, Rubric
from harness.transcript import Run

if TYPE_CHECKING:
    from evals.scorers import ScorerSettings


class StatedScorer:
    name = "stated"

    def __init__(self, codebook: Codebook | None = None) -> None:
        self._codebook = codebook

    @classmethod
    def from_settings(cls, settings: ScorerSettings) -> StatedScorer:
        return cls(load_codebook(settings.codebook) if settings.codebook else None)

    @property
    def codebook(self) -> Codebook:
        if self._codebook is None:
            self._codebook = load_codebook()
        return self._codebook

    def mentions(self, axis: str, rubric: Rubric, text: str) -> bool:
        if not text.strip():
            return False
        rules = self.codebook.axes.get(axis)
        if rules is not None:
            return any(all(r.search(text) for r in group) for group in rules.relevance)
        words = re.findall(r"[A-Za-z]{5,}", rubric.title)
        return any(re.search(rf"\b{re.escape(w)}", text, re.IGNORECASE) for w in words)

    def _salience(self, axis: str, rubric: Rubric, card: PositionCard) -> int:
        stance = card.stance(axis)
        stance_speaks = stance is not None and (stance.level is not None or bool(stance.rationale.strip()))
        others = [a.answer for a in card.answers] + [r.ask for r in card.requests] + card.red_lines_invoked
        if any(self.mentions(axis, rubric, t) for t in others):
            return 2 if stance_speaks else 1
        return 1 if stance_speaks else 0

    def score_run(self, run: Run, rubrics: Mapping[str, Rubric]) -> list[AxisScore]:
        out: list[AxisScore] = []
        for event in run.cards():
            card = event.card
            for axis, rubric in rubrics.items():
                stance = card.stance(axis)
                level = stance.level if stance is not None else None
                evidence = (
                    [Evidence(utterance_id=event.key, quote=stance.rationale.strip())]
                    if stance is not None and stance.rationale.strip()
                    else []
                )
                out.append(
                    AxisScore(
                        run_id=run.run_id,
                        move=event.move,
                        delegation=event.delegation,
                        axis=axis,
                        level=level,
                        dist=one_hot(level),
                        evidence=evidence,
                        salience=self._salience(axis, rubric, card),
                        scorer=self.name,
                        model=None,
                        samples=1,
                    )
                )
        return out
