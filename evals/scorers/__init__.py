"""Scorers behind one interface (:class:`Scorer`), by name.

``build_scorer("rules")``, ``build_scorer("stated")``, ``build_scorer("judge", models=[...], samples=k)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evals.scorers.base import Scorer
from evals.scorers.judge import JudgeScorer
from evals.scorers.rules import RulesScorer
from evals.scorers.stated import StatedScorer
from harness.errors import ConfigError

SCORERS: dict[str, Callable[..., Scorer]] = {
    "rules": RulesScorer,
    "stated": StatedScorer,
    "judge": JudgeScorer,
}


def build_scorer(name: str, **options: Any) -> Scorer:
    """The scorer called ``name``, built with ``options`` (e.g. ``codebook=`` or ``models=``)."""
    try:
        factory = SCORERS[name]
    except KeyError:
        raise ConfigError(f"unknown scorer {name!r}: choose one of {', '.join(sorted(SCORERS))}") from None
    return factory(**options)


__all__ = ["SCORERS", "JudgeScorer", "RulesScorer", "Scorer", "StatedScorer", "build_scorer"]
