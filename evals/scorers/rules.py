"""The ``rules`` scorer: a transparent, deterministic codebook (``evals/codebook.yaml``), no model.

How a unit (move, delegation, axis) is scored, step by step (every word list lives in the codebook):

1. The delegation's utterances in the move (caucus and plenary) are split into sentences.
2. **Who "we" is**: in each sentence the first-person pronouns are rewritten to the speaking delegation's
   name and adjective from the codebook (JPN's "our forces" → "Japanese forces"). This only resolves
   pronouns; the delegation never votes for a level.
3. **Addressed?** A sentence is in scope for the axis when it, or a neighbour within
   ``context_sentences`` (across the unit's utterances), matches the axis's relevance lexicon.
4. **Cues**: in in-scope sentences each cue pattern (a level cue, or a modifier voting for several levels)
   adds its votes, at most once per sentence. A cue is **negated** when a negation word sits in its
   clause up to ``window`` words before it (or inside the match), or a dismissal word follows it in its
   clause ("... would be a mistake"); a negated cue casts its ``if_negated`` votes instead (none unless
   given). A cue with ``requires`` counts only if the sentence also names that actor.
   Consent is a modifier like any other ("with ROK consent" votes for 2 and 3); a cue may also ``shift``
   the unit's votes from one level to another (consent dismissed: what was 2 or 3 becomes 4).
5. **Level**: the level with most votes, if at least ``min_score``; a tie goes to the tied level nearest
   the vote-weighted mean. ``dist`` is the normalised vote mass; evidence is the sentences that voted for
   the level (verbatim); salience is 0 / 1 / 2 by the share of the unit's sentences that are relevant.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evals.scorers.base import unit_utterances
from harness.errors import DataError
from harness.loaders import load_model
from harness.schema import LEVELS, AxisScore, Evidence, Level, Rubric
from harness.transcript import Run

log = logging.getLogger(__name__)

DEFAULT_CODEBOOK = Path(__file__).resolve().parents[1] / "codebook.yaml"
_MACRO = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
MAX_PATTERN_CHARS = 20_000
"""Longest pattern after macro expansion (the shipped codebook's longest is under 1,000 characters)."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[\w'’-]+")


# ------------------------------------------------------------------------------------------------
# The codebook file
# ------------------------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile`` with every failure a one-line ValueError."""
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    except (RecursionError, OverflowError) as exc:  # groups nested hundreds deep, huge repeats
        raise ValueError(f"regular expression too deeply nested or too large ({type(exc).__name__})") from exc


def _check_regex(v: str) -> str:
    _compile(v)
    return v


class CueSpec(_Spec):
    name: str
    pattern: str
    weight: float | None = Field(default=None, ge=0, description="votes for the level it is listed under")
    votes: dict[Level, float] | None = Field(default=None, description="modifiers: votes per level")
    if_negated: dict[Level, float] = Field(default_factory=dict)
    negatable: bool = True
    dismissed_by: str | None = Field(default=None, description="extra words that negate it after the match")
    requires: str | None = Field(
        default=None, description="the sentence must also match this (e.g. an actor)"
    )
    shift: dict[Level, Level] = Field(default_factory=dict, description="move the unit's votes: {from: to}")
    shift_if_negated: dict[Level, Level] = Field(default_factory=dict)

    @field_validator("pattern", "dismissed_by", "requires")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        return _check_regex(v) if v is not None else v


class AllOf(_Spec):
    all: list[str] = Field(min_length=1)


class AxisSpec(_Spec):
    relevance: list[str | AllOf] = Field(min_length=1)
    levels: dict[Level, list[CueSpec]] = Field(default_factory=dict)
    modifiers: list[CueSpec] = Field(default_factory=list)
    min_score: float | None = None

    @model_validator(mode="after")
    def _weights(self) -> AxisSpec:
        for lv, cues in self.levels.items():
            for c in cues:
                if c.weight is None or c.votes is not None:
                    raise ValueError(f"level {lv} cue {c.name!r}: give `weight` (votes are for modifiers)")
        for c in self.modifiers:
            if c.votes is None or c.weight is not None:
                raise ValueError(f"modifier {c.name!r}: give `votes` {{level: weight}} and no `weight`")
        return self


class Alias(_Spec):
    name: str
    adjective: str


class PronounSpec(_Spec):
    subject: str
    possessive: str


class NegationSpec(_Spec):
    before: str
    after: str
    clause_break: str
    window: int = Field(default=6, ge=1, le=30)


class CodebookSpec(_Spec):
    version: int = 1
    context_sentences: int = Field(default=1, ge=0, le=5)
    min_score: float = Field(default=1.0, ge=0)
    macros: dict[str, str] = Field(default_factory=dict)
    pronouns: PronounSpec
    delegations: dict[str, Alias] = Field(default_factory=dict)
    negation: NegationSpec
    axes: dict[str, AxisSpec] = Field(min_length=1)


# ------------------------------------------------------------------------------------------------
# The compiled codebook
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    name: str
    regex: re.Pattern[str]
    votes: dict[int, float]
    if_negated: dict[int, float]
    negatable: bool
    dismissed_by: re.Pattern[str] | None
    requires: re.Pattern[str] | None
    shift: dict[int, int]
    shift_if_negated: dict[int, int]


@dataclass(frozen=True)
class AxisRules:
    relevance: list[list[re.Pattern[str]]]
    cues: list[Cue]
    min_score: float


@dataclass(frozen=True)
class Codebook:
    path: Path
    axes: dict[str, AxisRules]
    aliases: dict[str, Alias]
    subject: re.Pattern[str]
    possessive: re.Pattern[str]
    neg_before: re.Pattern[str]
    neg_after: re.Pattern[str]
    clause_break: re.Pattern[str]
    window: int
    context: int


def load_codebook(path: str | Path | None = None) -> Codebook:
    p = Path(path) if path is not None else DEFAULT_CODEBOOK
    spec = load_model(CodebookSpec, p)

    def compile_(pattern: str, where: str, *, ignore_case: bool = True) -> re.Pattern[str]:
        text = pattern
        for _ in range(8):
            expanded = _MACRO.sub(lambda m: _macro(m, spec.macros, p, where), text)
            if expanded == text:
                break
            text = expanded
            if len(text) > MAX_PATTERN_CHARS:  # a macro that includes itself grows without end
                break
        if len(text) > MAX_PATTERN_CHARS or _MACRO.search(text):
            raise DataError(
                str(p),
                "macros do not resolve: one includes itself, or they nest more than 8 deep "
                f"(or the pattern passes {MAX_PATTERN_CHARS:,} characters)",
                field=where,
            )
        try:
            return _compile(text, re.IGNORECASE if ignore_case else 0)
        except ValueError as exc:
            raise DataError(str(p), f"{exc} (after macros)", field=where) from exc

    def cue(c: CueSpec, votes: dict[int, float], where: str) -> Cue:
        dismissed = compile_(c.dismissed_by, f"{where}.dismissed_by") if c.dismissed_by else None
        requires = compile_(c.requires, f"{where}.requires") if c.requires else None
        if_negated = {int(k): v for k, v in c.if_negated.items()}
        shifts = (
            {int(a): int(b) for a, b in c.shift.items()},
            {int(a): int(b) for a, b in c.shift_if_negated.items()},
        )
        return Cue(
            c.name, compile_(c.pattern, where), votes, if_negated, c.negatable, dismissed, requires, *shifts
        )

    axes: dict[str, AxisRules] = {}
    for axis, a in spec.axes.items():
        base = f"axes.{axis}"
        relevance = [
            [compile_(r, f"{base}.relevance[{i}]")]
            if isinstance(r, str)
            else [compile_(x, f"{base}.relevance[{i}].all") for x in r.all]
            for i, r in enumerate(a.relevance)
        ]
        cues = [
            cue(c, {lv: c.weight or 0.0}, f"{base}.levels.{lv}[{i}].pattern")
            for lv, items in sorted(a.levels.items())
            for i, c in enumerate(items)
        ]
        cues += [
            cue(c, {int(k): v for k, v in (c.votes or {}).items()}, f"{base}.modifiers[{i}].pattern")
            for i, c in enumerate(a.modifiers)
        ]
        axes[axis] = AxisRules(relevance, cues, a.min_score if a.min_score is not None else spec.min_score)
    neg = spec.negation
    return Codebook(
        path=p,
        axes=axes,
        aliases=dict(spec.delegations),
        subject=compile_(spec.pronouns.subject, "pronouns.subject", ignore_case=False),
        possessive=compile_(spec.pronouns.possessive, "pronouns.possessive", ignore_case=False),
        neg_before=compile_(neg.before, "negation.before"),
        neg_after=compile_(neg.after, "negation.after"),
        clause_break=compile_(neg.clause_break, "negation.clause_break"),
        window=neg.window,
        context=spec.context_sentences,
    )


def _macro(m: re.Match[str], macros: Mapping[str, str], path: Path, where: str) -> str:
    name = m.group(1)
    if name not in macros:
        raise DataError(str(path), f"unknown macro {{{name}}}", field=where)
    return f"(?:{macros[name]})"


# ------------------------------------------------------------------------------------------------
# Scoring
# ------------------------------------------------------------------------------------------------


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


def resolve_pronouns(book: Codebook, sentence: str, delegation: str | None) -> str:
    alias = book.aliases.get(delegation or "")
    if alias is None:
        return sentence
    sentence = book.possessive.sub(alias.adjective, sentence)
    return book.subject.sub(alias.name, sentence)


def _is_negated(book: Codebook, cue: Cue, text: str, m: re.Match[str]) -> bool:
    if not cue.negatable:
        return False
    breaks = [b.end() for b in book.clause_break.finditer(text, 0, m.end()) if b.end() <= m.end()]
    clause_start = max(breaks, default=0)
    words_before = [w.start() for w in _WORD.finditer(text, 0, m.start())]
    window_start = words_before[-book.window] if len(words_before) >= book.window else 0
    if book.neg_before.search(text[max(clause_start, window_start) : m.end()]):
        return True
    tail = text[m.end() :]
    nxt = book.clause_break.search(tail)
    tail = tail[: nxt.start()] if nxt else tail
    tail_words = _WORD.findall(tail)[: book.window]
    after = " ".join(tail_words)
    return bool(book.neg_after.search(after) or (cue.dismissed_by and cue.dismissed_by.search(after)))


def _relevant(rules: AxisRules, sentence: str) -> bool:
    return any(all(r.search(sentence) for r in group) for group in rules.relevance)


def score_texts(
    book: Codebook, axis: str, delegation: str | None, utterances: Sequence[tuple[str, str]]
) -> RuleResult:
    """Score one unit from ``(utterance_id, text)`` pairs spoken by ``delegation``, in order."""
    rules = book.axes[axis]
    sentences = [(uid, s) for uid, text in utterances for s in _SENTENCE_END.split(text) if s.strip()]
    resolved = [resolve_pronouns(book, s, delegation) for _, s in sentences]
    flags = [_relevant(rules, s) for s in resolved]
    hits: list[Hit] = []
    for i, sentence in enumerate(resolved):
        if not any(flags[max(0, i - book.context) : i + book.context + 1]):
            continue
        for cue in rules.cues:
            m = cue.regex.search(sentence)
            if m is None or (cue.requires is not None and not cue.requires.search(sentence)):
                continue
            negated = _is_negated(book, cue, sentence, m)
            votes, shift = (cue.if_negated, cue.shift_if_negated) if negated else (cue.votes, cue.shift)
            if any(v > 0 for v in votes.values()) or shift:
                uid, original = sentences[i]
                hits.append(Hit(cue.name, uid, original.strip(), dict(votes), negated, dict(shift)))
    relevant = sum(flags)
    salience = 0 if relevant == 0 else (2 if relevant * 2 >= len(sentences) else 1)
    tally = [sum(h.votes.get(lv, 0.0) for h in hits) for lv in LEVELS]
    moved = {src: dst for h in hits for src, dst in h.shift.items()}
    for src, dst in moved.items():  # e.g. consent dismissed: levels 2 and 3 become 4
        tally[dst] += tally[src]
        tally[src] = 0.0
    mass = sum(tally)
    best = max(tally)
    if mass <= 0 or best < rules.min_score:
        return RuleResult(None, None, salience, hits)
    mean = sum(lv * v for lv, v in zip(LEVELS, tally, strict=True)) / mass
    level = min((lv for lv in LEVELS if tally[lv] == best), key=lambda lv: (abs(lv - mean), lv))
    sources = {level, *(src for src, dst in moved.items() if dst == level)}
    support = [(max(h.votes.get(lv, 0.0) for lv in sources), h) for h in hits]
    evidence: list[Evidence] = []
    for _, h in sorted((x for x in support if x[0] > 0), key=lambda x: -x[0]):
        ev = Evidence(utterance_id=h.utterance_id, quote=h.sentence)
        if ev not in evidence:
            evidence.append(ev)
    return RuleResult(level, [v / mass for v in tally], salience, hits, evidence[:3])


class RulesScorer:
    """Scores every (move, delegation) that spoke, on each axis the codebook and the rubrics share."""

    name = "rules"

    def __init__(self, codebook: Codebook | str | Path | None = None) -> None:
        self.codebook = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)

    def score_text(
        self, text: str, delegation: str | None, axis: str, utterance_id: str = "u1"
    ) -> RuleResult:
        return score_texts(self.codebook, axis, delegation, [(utterance_id, text)])

    def score_run(self, run: Run, rubrics: Mapping[str, Rubric]) -> list[AxisScore]:
        axes = [a for a in rubrics if a in self.codebook.axes]
        for missing in sorted(set(rubrics) - set(axes)):
            log.warning("codebook %s has no rules for axis %r: not scored", self.codebook.path, missing)
        out: list[AxisScore] = []
        for (move, delegation), utterances in unit_utterances(run).items():
            pairs = [(u.utterance_id, u.text) for u in utterances]
            for axis in axes:
                r = score_texts(self.codebook, axis, delegation, pairs)
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
                        scorer=self.name,
                        model=None,
                        samples=1,
                    )
                )
        return out
