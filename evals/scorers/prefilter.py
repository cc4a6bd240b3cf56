"""A cheap test before an expensive one: the words a codebook pattern cannot match without.

Most codebook patterns begin with an alternation of words (``\\b(?:tell|share|brief)\\w*…``), and most
sentences contain none of them. Python's regular-expression engine still tries such a pattern at every
position of every sentence. :func:`anchors` reads the parsed pattern and finds a set of literal strings
one of which every match must contain; :class:`Gated` tests for them with a plain substring search on the
lower-cased sentence (fast, in C) and runs the pattern only when one is there. The anchors are a necessary
condition of a match, so what matches is unchanged (``tests/evals/test_prefilter.py`` checks it on the
codebook and the gold sentences); a pattern without a usable anchor is always run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

try:  # Python 3.11+
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older layouts
    import sre_constants as sre_c
    import sre_parse

Items = list[tuple[Any, Any]]


def _literal_runs(items: Items) -> list[str]:
    """Runs of consecutive literal characters in a sequence."""
    runs, current = [], ""
    for op, av in items:
        if op is sre_c.LITERAL:
            current += chr(av)
        else:
            if current:
                runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def _alternatives(items: Items) -> frozenset[str] | None:
    """Strings one of which every match of the sequence ``items`` contains, or None. Of the candidates
    (each literal run; each required group or alternation), the most selective: longest shortest string."""
    candidates = [frozenset({run}) for run in _literal_runs(items)]
    for op, av in items:
        found: frozenset[str] | None = None
        if op is sre_c.SUBPATTERN:
            found = _alternatives(list(av[-1]))
        elif op is sre_c.BRANCH:
            found = _branch(av[1])
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) and av[0] >= 1:
            found = _alternatives(list(av[2]))
        if found:
            candidates.append(found)
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(len(a) for a in c), -len(c)))


def _branch(branches: list[Any]) -> frozenset[str] | None:
    union: set[str] = set()
    for branch in branches:
        found = _alternatives(list(branch))
        if not found:
            return None  # one alternative without an anchor: the whole alternation has none
        union |= found
    return frozenset(union)


def anchors(pattern: str, flags: int = 0) -> frozenset[str] | None:
    """Lower-cased strings one of which every match of ``pattern`` contains (None: no usable set)."""
    try:
        parsed = list(sre_parse.parse(pattern, flags))
    except re.error:
        return None
    found = _alternatives(parsed)
    if not found or any(not a.strip() for a in found):
        return None
    return frozenset(a.lower() for a in found)


@dataclass(frozen=True)
class Gated:
    """A compiled pattern behind its anchors (only case-insensitive patterns are gated)."""

    regex: re.Pattern[str]
    anchors: tuple[str, ...] | None

    @classmethod
    def of(cls, regex: re.Pattern[str]) -> Gated:
        found = anchors(regex.pattern, regex.flags) if regex.flags & re.IGNORECASE else None
        return cls(regex, tuple(sorted(found)) if found else None)

    @property
    def pattern(self) -> str:
        return self.regex.pattern

    def search(self, text: str, lowered: str | None = None) -> re.Match[str] | None:
        """``regex.search(text)``; ``lowered`` (``text.lower()``, computed if not given) for the anchors."""
        if self.anchors is not None:
            low = text.lower() if lowered is None else lowered
            if not any(map(low.__contains__, self.anchors)):  # map: no Python frame per anchor
                return None
        return self.regex.search(text)
