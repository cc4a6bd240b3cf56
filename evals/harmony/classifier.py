"""An offline classifier of agreement in a plenary reply: ``agree``, ``disagree`` or ``neutral``.

Rules over a lexicon (``lexicon.yaml``, data, not code): every agreement cue found in the reply adds its
weight, every disagreement cue subtracts its weight; an agreement cue with a negator among the few words
before it ("we do not agree") counts as disagreement; a cue after a contrast word ("we understand, but we
cannot accept") weighs more, since the point of a reply usually follows the "but". A score at or above the
threshold is ``agree``, at or below minus the threshold ``disagree``, anything between ``neutral``.
Overlapping cues count once (the longest match wins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from harness.errors import DataError

Label = Literal["agree", "disagree", "neutral"]
LABELS: tuple[Label, ...] = ("agree", "disagree", "neutral")
LEXICON = Path(__file__).resolve().parent / "lexicon.yaml"
_WORD = re.compile(r"[a-z0-9']+")


def _pattern(phrase: str) -> re.Pattern[str]:
    text = phrase.lower().strip()
    stem = text.endswith("*")
    body = re.escape(text.rstrip("*"))
    head = r"\b" if text[:1].isalnum() else ""
    tail = r"[a-z]*\b" if stem else (r"\b" if text.rstrip("*")[-1:].isalnum() else "")
    return re.compile(head + body + tail)


@dataclass(frozen=True)
class Cue:
    phrase: str
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Lexicon:
    agree: tuple[Cue, ...]
    disagree: tuple[Cue, ...]
    negators: tuple[str, ...]
    negation_window: int
    contrast: tuple[str, ...]
    contrast_weight: float
    threshold: float

    @classmethod
    def from_data(cls, data: Any, source: str = "lexicon") -> Lexicon:
        try:

            def cues(block: dict[Any, list[str]]) -> tuple[Cue, ...]:
                return tuple(
                    Cue(str(p), float(w), _pattern(str(p))) for w, phrases in block.items() for p in phrases
                )

            return cls(
                agree=cues(data["agree"]),
                disagree=cues(data["disagree"]),
                negators=tuple(str(n).lower() for n in data["negators"]),
                negation_window=int(data["negation_window"]),
                contrast=tuple(str(c).lower() for c in data["contrast"]),
                contrast_weight=float(data["contrast_weight"]),
                threshold=float(data["threshold"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(source, f"not a harmony lexicon ({type(exc).__name__}: {exc})") from exc


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON) -> Lexicon:
    return Lexicon.from_data(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


@dataclass(frozen=True)
class Hit:
    phrase: str
    side: Label
    weight: float  # signed, after negation and contrast
    start: int


def _negated(text: str, start: int, lex: Lexicon) -> bool:
    """A negator among the ``negation_window`` words before ``start``."""
    before = _WORD.findall(text[:start])[-lex.negation_window :]
    joined = " " + " ".join(before) + " "
    for n in lex.negators:
        if n == "n't":
            if any(w.endswith("n't") for w in before):
                return True
        elif f" {n} " in joined:
            return True
    return False


def cues_in(text: str, lex: Lexicon | None = None) -> list[Hit]:
    """Every cue found in ``text``, longest first where cues overlap, with its signed weight."""
    lex = lex or load_lexicon()
    low = " ".join(text.lower().split())
    found: list[tuple[int, int, Cue, Label]] = []
    sides: tuple[tuple[Label, tuple[Cue, ...]], ...] = (("agree", lex.agree), ("disagree", lex.disagree))
    for side, cues in sides:
        for cue in cues:
            for m in cue.pattern.finditer(low):
                found.append((m.start(), m.end(), cue, side))
    found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
    taken: list[tuple[int, int]] = []
    contrast_at = min(
        (m.start() for c in lex.contrast for m in re.finditer(rf"\b{re.escape(c)}\b", low)), default=None
    )
    hits: list[Hit] = []
    for start, end, cue, side in found:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        sign = 1.0 if side == "agree" else -1.0
        if side == "agree" and _negated(low, start, lex):
            sign, side = -1.0, "disagree"
        weight = cue.weight * (
            lex.contrast_weight if contrast_at is not None and start > contrast_at else 1.0
        )
        hits.append(Hit(cue.phrase, side, sign * weight, start))
    return sorted(hits, key=lambda h: h.start)


def score(text: str, lex: Lexicon | None = None) -> float:
    return sum(h.weight for h in cues_in(text, lex))


def classify(text: str, lex: Lexicon | None = None) -> Label:
    lex = lex or load_lexicon()
    s = score(text, lex)
    if s >= lex.threshold:
        return "agree"
    if s <= -lex.threshold:
        return "disagree"
    return "neutral"
