"""The ``rules`` scorer: a transparent, deterministic codebook (``evals/codebook.yaml``), no model.

How a unit (move × delegation × axis, over all the delegation's utterances in the move) is scored, step by
step (every word list lives in the codebook; :mod:`evals.scorers.codebook` reads it):

1. **Reading** (:mod:`evals.scorers.discourse`): each utterance (a *statement*) is split into sentences;
   first-person pronouns become the speaking delegation's name and adjective (JPN's "our forces" →
   "Japanese forces"; the delegation never votes for a level); questions, reported speech, process talk
   and another actor's attitude ("Beijing wants…") are set aside: they are not the speaker's position.
2. **Addressed?** A sentence is in scope for the axis when it, or a neighbour within
   ``context_sentences`` in the same statement, matches the axis's relevance lexicon.
3. **Cues**: in in-scope sentences each cue pattern (a level cue, or a modifier voting for several levels)
   adds its votes, at most once per sentence. A cue is **negated** when a negation word sits in its
   clause up to ``window`` words before it (or inside the match), or a dismissal word follows it in its
   clause ("... would be a mistake"); a negated cue casts its ``if_negated`` votes instead (none unless
   given). A cue with ``requires`` counts only if the sentence also matches it, one with ``unless`` only
   if it does not. Consent is a modifier like any other ("with ROK consent" votes for 2 and 3); a cue may
   also ``shift`` the statement's votes from one level to another (consent dismissed: 2 or 3 becomes 4).
4. **Statement**: its votes per level; it *states a position* when its best level has at least
   ``min_score`` votes. A statement below that (a stray word in off-topic talk) casts nothing.
5. **Unit**: the votes of the statements that state a position are added up, so one clear statement is
   enough to score the cell however many off-topic statements surround it. The level with most votes
   wins; a tie goes to the tied level nearest the vote-weighted mean. ``dist`` is the normalised vote mass;
   evidence is the sentences that voted for the level (verbatim). **Salience** (how central the axis was):
   0 when no statement addresses the axis, 2 when at least half of the statements do, else 1.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from evals.scorers.base import unit_utterances
from evals.scorers.codebook import (
    DEFAULT_CODEBOOK,
    AxisRules,
    Codebook,
    CodebookSpec,
    Cue,
    load_codebook,
)
from evals.scorers.discourse import Sentence, read_statement, resolve_pronouns
from harness.schema import LEVELS, AxisScore, Evidence, Rubric
from harness.transcript import Run

if TYPE_CHECKING:
    from evals.scorers import ScorerSettings

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CODEBOOK",
    "Codebook",
    "CodebookSpec",
    "Hit",
    "RuleResult",
    "RulesScorer",
    "load_codebook",
    "resolve_pronouns",
    "score_statement",
    "score_texts",
]

_WORD = re.compile(r"[\w'’-]+")
_HARD_BREAK = re.compile(r"[;:!?.]")


@dataclass(frozen=True)
class Hit:
    cue: str
    utterance_id: str
    sentence: str
    votes: dict[int, float]
    negated: bool
    shift: dict[int, int] = field(default_factory=dict)


@dataclass
class RuleResult:
    level: int | None
    dist: list[float] | None
    salience: int
    hits: list[Hit] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    tally: list[float] = field(default_factory=lambda: [0.0 for _ in LEVELS])
    """Votes per level after shifts (a statement's, or the sum over a unit's positioned statements)."""
    addressed: bool = False
    """Some sentence was in scope for the axis (before the discourse filters set anything aside)."""
    dropped: list[tuple[str, str]] = field(default_factory=list)
    """(filter, sentence) for sentences set aside as not the speaker's position."""
    live: bool = False
    """Some sentence that is the speaker's own position is in scope for the axis."""
    kept_text: str = ""
    """What an embedding scorer reads: the statement's sentences in scope for the axis (on it, or next to
    one that is) that are the speaker's own position; in a long statement, not the sentences off the axis."""
    source: str = "rules"
    """Which scorer decided this statement's level (``rules`` or ``embed``; the offline scorer mixes)."""


def _is_negated(book: Codebook, cue: Cue, text: str, m: re.Match[str]) -> bool:
    if not cue.negatable:
        return False
    breaks = [b.end() for b in book.clause_break.finditer(text, 0, m.end()) if b.end() <= m.end()]
    clause_start = max(breaks, default=0)
    words_before = [w.start() for w in _WORD.finditer(text, 0, m.start())]
    window_start = words_before[-book.window] if len(words_before) >= book.window else 0
    negators = [
        n.group(0).lower() for n in book.neg_before.finditer(text[max(clause_start, window_start) : m.end()])
    ]
    if negators:
        # "not ... without" is a requirement, not a refusal ("nothing moves without consent"); the first
        # negation may sit anywhere earlier in the clause.
        if "without" in negators:
            earlier = [n.group(0).lower() for n in book.neg_before.finditer(text[clause_start : m.start()])]
            return not (len(earlier) >= 2 or (len(earlier) == 1 and earlier[0] != "without"))
        return True
    tail = text[m.end() :]
    nxt = book.clause_break.search(tail)
    after = " ".join(_WORD.findall(tail[: nxt.start()] if nxt else tail)[: book.window])
    if book.neg_after.search(after):
        return True
    if cue.dismissed_by is None:
        return False
    # a dismissal may follow a contrast ("consent is welcome but not required"): read to the sentence's end
    stop = _HARD_BREAK.search(tail)
    return bool(cue.dismissed_by.search(" ".join(_WORD.findall(tail[: stop.start()] if stop else tail))))


def _relevant(rules: AxisRules, sentence: str, lowered: str) -> bool:
    return any(all(r.search(sentence, lowered) for r in group) for group in rules.relevance)


def _cue_hits(book: Codebook, rules: AxisRules, s: Sentence) -> list[Hit]:
    hits: list[Hit] = []
    lowered = s.lowered
    for cue in rules.cues:
        m = cue.regex.search(s.text, lowered)
        if m is None or (cue.requires is not None and not cue.requires.search(s.text, lowered)):
            continue
        if cue.unless is not None and cue.unless.search(s.text, lowered):
            continue
        negated = _is_negated(book, cue, s.text, m)
        votes, shift = (cue.if_negated, cue.shift_if_negated) if negated else (cue.votes, cue.shift)
        if any(v > 0 for v in votes.values()) or shift:
            hits.append(Hit(cue.name, s.utterance_id, s.original.strip(), dict(votes), negated, dict(shift)))
    return hits


def _tally(hits: Sequence[Hit]) -> tuple[list[float], dict[int, int]]:
    tally = [sum(h.votes.get(lv, 0.0) for h in hits) for lv in LEVELS]
    moved = {src: dst for h in hits for src, dst in h.shift.items()}
    for src, dst in moved.items():  # e.g. consent dismissed: levels 2 and 3 become 4
        tally[dst] += tally[src]
        tally[src] = 0.0
    return tally, moved


def _decide(tally: Sequence[float], min_score: float) -> int | None:
    mass, best = sum(tally), max(tally)
    if mass <= 0 or best < min_score:
        return None
    mean = sum(lv * v for lv, v in zip(LEVELS, tally, strict=True)) / mass
    return min((lv for lv in LEVELS if tally[lv] == best), key=lambda lv: (abs(lv - mean), lv))


def _evidence(hits: Sequence[Hit], level: int, moved: Mapping[int, int]) -> list[Evidence]:
    sources = {level, *(src for src, dst in moved.items() if dst == level)}
    support = [(max(h.votes.get(lv, 0.0) for lv in sources), h) for h in hits]
    evidence: list[Evidence] = []
    for _, h in sorted((x for x in support if x[0] > 0), key=lambda x: -x[0]):
        ev = Evidence(utterance_id=h.utterance_id, quote=h.sentence)
        if ev not in evidence:
            evidence.append(ev)
    return evidence[:3]


@dataclass(frozen=True)
class Statement:
    """One utterance, read once (sentences, pronouns, discourse filters) and scored on every axis."""

    utterance_id: str
    text: str
    sentences: list[Sentence]


def read_unit(
    book: Codebook, delegation: str | None, utterances: Sequence[tuple[str, str]]
) -> list[Statement]:
    return [Statement(uid, text, read_statement(book, delegation, uid, text)) for uid, text in utterances]


def score_statement(
    book: Codebook,
    axis: str,
    delegation: str | None,
    utterance_id: str,
    text: str,
    sentences: Sequence[Sentence] | None = None,
) -> RuleResult:
    """One statement on one axis: its votes, and its level if it states a position (else None).
    ``sentences``: the statement already read (:func:`read_unit`), to read it once for all axes."""
    rules = book.axes[axis]
    if sentences is None:
        sentences = read_statement(book, delegation, utterance_id, text)
    flags = [_relevant(rules, s.resolved or s.text, s.resolved_lowered or s.lowered) for s in sentences]
    live = [f and s.dropped is None for s, f in zip(sentences, flags, strict=True)]
    hits: list[Hit] = []
    in_scope: list[Sentence] = []
    for i, s in enumerate(sentences):
        if s.dropped is None and any(live[max(0, i - book.context) : i + book.context + 1]):
            in_scope.append(s)
            hits += _cue_hits(book, rules, s)
    tally, moved = _tally(hits)
    level = _decide(tally, rules.min_score)
    dropped = [(s.dropped, s.original) for s in sentences if s.dropped is not None]
    dropped += [(name, s.original) for s in sentences for name in s.removed]
    return RuleResult(
        level=level,
        dist=[v / sum(tally) for v in tally] if level is not None else None,
        salience=2 if any(flags) else 0,
        hits=hits,
        evidence=_evidence(hits, level, moved) if level is not None else [],
        tally=tally if level is not None else [0.0 for _ in LEVELS],
        addressed=any(flags),
        dropped=dropped,
        live=any(live),
        kept_text=" ".join(s.original for s in in_scope),
    )


def aggregate(statements: Sequence[RuleResult], min_score: float = 0.0) -> RuleResult:
    """A unit from its statements: the votes of those that state a position, added up.

    Off-topic statements, and statements whose stray cues fall short of a position, add nothing, so one
    clear statement scores the unit. Salience: 0 when no statement addresses the axis, 2 when at least
    half of them do, else 1.
    """
    addressed = sum(r.addressed for r in statements)
    salience = 0 if addressed == 0 else (2 if addressed * 2 >= len(statements) else 1)
    positioned = [r for r in statements if r.level is not None]
    hits = [h for r in statements for h in r.hits]
    dropped = [d for r in statements for d in r.dropped]
    tally = [sum(r.tally[lv] for r in positioned) for lv in LEVELS]
    level = _decide(tally, min_score)
    live = any(r.live for r in statements)
    kept = " ".join(r.kept_text for r in statements if r.kept_text)
    sources = ",".join(dict.fromkeys(r.source for r in positioned)) or (
        statements[0].source if statements else ""
    )
    if level is None:
        return RuleResult(None, None, salience, hits, [], tally, addressed > 0, dropped, live, kept, sources)
    evidence: list[Evidence] = []
    for r in sorted(positioned, key=lambda r: -r.tally[level]):
        evidence += [e for e in r.evidence if r.tally[level] > 0 and e not in evidence]
    dist = [v / sum(tally) for v in tally]
    return RuleResult(level, dist, salience, hits, evidence[:3], tally, True, dropped, live, kept, sources)


def score_texts(
    book: Codebook, axis: str, delegation: str | None, utterances: Sequence[tuple[str, str]]
) -> RuleResult:
    """Score one unit from ``(utterance_id, text)`` pairs spoken by ``delegation``, in order."""
    return score_unit(book, axis, delegation, read_unit(book, delegation, utterances))


def score_unit(
    book: Codebook, axis: str, delegation: str | None, statements: Sequence[Statement]
) -> RuleResult:
    return aggregate(
        [score_statement(book, axis, delegation, s.utterance_id, s.text, s.sentences) for s in statements]
    )


class RulesScorer:
    """Scores every (move, delegation) that spoke, on each axis the codebook and the rubrics share."""

    name = "rules"

    def __init__(self, codebook: Codebook | str | Path | None = None) -> None:
        self.codebook = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)

    @classmethod
    def from_settings(cls, settings: ScorerSettings) -> RulesScorer:
        return cls(settings.codebook)

    def score_text(
        self, text: str, delegation: str | None, axis: str, utterance_id: str = "u1"
    ) -> RuleResult:
        return score_texts(self.codebook, axis, delegation, [(utterance_id, text)])

    def axes(self, rubrics: Mapping[str, Rubric]) -> list[str]:
        return codebook_axes(self.codebook, rubrics)

    def score_run(self, run: Run, rubrics: Mapping[str, Rubric]) -> list[AxisScore]:
        def unit(axis: str, delegation: str, statements: Sequence[Statement]) -> RuleResult:
            return score_unit(self.codebook, axis, delegation, statements)

        return axis_scores(run, self.codebook, self.axes(rubrics), unit, scorer=self.name)


UnitScorer = Callable[[str, str, Sequence[Statement]], RuleResult]
"""(axis, delegation, the unit's statements, read once for all axes) → the unit's result."""


def codebook_axes(book: Codebook, rubrics: Mapping[str, Rubric]) -> list[str]:
    """The rubrics' axes the codebook has rules for (the others are logged and not scored)."""
    axes = [a for a in rubrics if a in book.axes]
    for missing in sorted(set(rubrics) - set(axes)):
        log.warning("codebook %s has no rules for axis %r: not scored", book.path, missing)
    return axes


def axis_scores(
    run: Run,
    book: Codebook,
    axes: Sequence[str],
    unit: UnitScorer,
    *,
    scorer: str,
    model: str | None = None,
) -> list[AxisScore]:
    """One score per (move, delegation that spoke, axis), in run order, from ``unit``; each utterance is
    read once (:func:`read_unit`) for all axes."""
    out: list[AxisScore] = []
    for (move, delegation), utterances in unit_utterances(run).items():
        statements = read_unit(book, delegation, [(u.utterance_id, u.text) for u in utterances])
        for axis in axes:
            r = unit(axis, delegation, statements)
            out.append(
                AxisScore(
                    run_id=run.run_id,
                    move=move,
                    delegation=delegation,
                    axis=axis,
                    level=r.level,
                    dist=r.dist,
                    evidence=r.evidence,
                    salience=r.salience,
                    scorer=scorer,
                    model=model,
                    samples=1,
                )
            )
    return out
