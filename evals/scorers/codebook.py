"""The rules codebook (``evals/codebook.yaml``): its file format and its compiled, ready-to-match form.

Every word the ``rules`` scorer reacts to lives in the codebook; this module only reads and compiles it
(``evals/scorers/rules.py`` scores with it, ``evals/scorers/discourse.py`` segments and filters text with
it). Patterns are Python regular expressions, case-insensitive except the pronouns; ``{NAME}`` inserts the
macro ``NAME``. Two placeholders depend on who speaks and are filled in per delegation: ``{SELF}`` (the
speaking delegation's own names) and ``{OTHER}`` (every other actor the codebook knows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evals.scorers.prefilter import Gated
from harness.errors import DataError
from harness.loaders import load_model
from harness.resources import bundled_codebook
from harness.schema import Level

DEFAULT_CODEBOOK = bundled_codebook()
_MACRO = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
MAX_PATTERN_CHARS = 20_000
"""Longest pattern after macro expansion (the shipped codebook's longest is a few thousand characters)."""
SPEAKER_PLACEHOLDERS = ("SELF", "OTHER")
_NOBODY = r"(?!x)x"  # matches nothing: {SELF} of an unknown speaker


# ------------------------------------------------------------------------------------------------
# The codebook file
# ------------------------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile`` with every failure a one-line ValueError (bad syntax, nesting too deep, too large)."""
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    except (RecursionError, OverflowError) as exc:  # groups nested hundreds deep, huge repeats
        raise ValueError(f"regular expression too deeply nested or too large ({type(exc).__name__})") from exc


def _check_regex(v: str) -> str:
    _regex(_MACRO.sub("x", v))
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
    unless: str | None = Field(
        default=None, description="the cue does not count if the sentence matches this"
    )
    shift: dict[Level, Level] = Field(default_factory=dict, description="move the unit's votes: {from: to}")
    shift_if_negated: dict[Level, Level] = Field(default_factory=dict)

    @field_validator("pattern", "dismissed_by", "requires", "unless")
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
    actor: str | None = Field(
        default=None, description="how others name this delegation (its country, capital, government)"
    )

    @field_validator("actor")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        return _check_regex(v) if v is not None else v


class PronounSpec(_Spec):
    subject: str
    possessive: str


class NegationSpec(_Spec):
    before: str
    after: str
    clause_break: str
    window: int = Field(default=6, ge=1, le=30)


class FilterSpec(_Spec):
    name: str
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _regex(cls, v: str) -> str:
        return _check_regex(v)


class DiscourseSpec(_Spec):
    """What in a statement is not the speaker's own position (see evals/scorers/discourse.py)."""

    questions: bool = Field(default=True, description="a sentence ending in '?' takes no position")
    sentence: list[FilterSpec] = Field(
        default_factory=list, description="a match drops its whole sentence (reported speech, process talk)"
    )
    clause: list[FilterSpec] = Field(
        default_factory=list,
        description="a match drops the text from the match to its clause's end (another actor's attitude)",
    )
    others: str | None = Field(
        default=None, description="actors that are never a speaking delegation (part of {OTHER})"
    )


class CodebookSpec(_Spec):
    version: int = 1
    context_sentences: int = Field(default=1, ge=0, le=5)
    min_score: float = Field(default=1.0, ge=0)
    macros: dict[str, str] = Field(default_factory=dict)
    pronouns: PronounSpec
    delegations: dict[str, Alias] = Field(default_factory=dict)
    negation: NegationSpec
    discourse: DiscourseSpec = Field(default_factory=DiscourseSpec)
    axes: dict[str, AxisSpec] = Field(min_length=1)


# ------------------------------------------------------------------------------------------------
# The compiled codebook
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    name: str
    regex: Gated
    votes: dict[int, float]
    if_negated: dict[int, float]
    negatable: bool
    dismissed_by: re.Pattern[str] | None
    requires: Gated | None
    unless: Gated | None
    shift: dict[int, int]
    shift_if_negated: dict[int, int]


@dataclass(frozen=True)
class AxisRules:
    relevance: list[list[Gated]]
    cues: list[Cue]
    min_score: float


@dataclass(frozen=True)
class Filter:
    name: str
    regex: Gated


@dataclass(frozen=True)
class Discourse:
    """The discourse filters compiled for one speaking delegation."""

    questions: bool
    sentence: list[Filter]
    clause: list[Filter]


@dataclass
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
    spec: CodebookSpec
    _discourse: dict[str | None, Discourse] = field(default_factory=dict, repr=False)

    def discourse(self, delegation: str | None) -> Discourse:
        """The discourse filters with ``{SELF}``/``{OTHER}`` filled in for this speaker (cached)."""
        if delegation not in self._discourse:
            self._discourse[delegation] = _compile_discourse(self, delegation)
        return self._discourse[delegation]


def _expand(pattern: str, macros: Mapping[str, str], path: Path, where: str) -> str:
    text = pattern
    for _ in range(8):
        expanded = _MACRO.sub(lambda m: _macro(m, macros, path, where), text)
        if expanded == text:
            break
        text = expanded
        if len(text) > MAX_PATTERN_CHARS:  # a macro that includes itself grows without end
            break
    unresolved = [n for n in _MACRO.findall(text) if n not in SPEAKER_PLACEHOLDERS]
    if len(text) > MAX_PATTERN_CHARS or unresolved:
        raise DataError(
            str(path),
            "macros do not resolve: one includes itself, or they nest more than 8 deep "
            f"(or the pattern passes {MAX_PATTERN_CHARS:,} characters)",
            field=where,
        )
    return text


def _macro(m: re.Match[str], macros: Mapping[str, str], path: Path, where: str) -> str:
    name = m.group(1)
    if name in SPEAKER_PLACEHOLDERS and name not in macros:
        return m.group(0)  # filled in per speaker (Codebook.discourse)
    if name not in macros:
        raise DataError(str(path), f"unknown macro {{{name}}}", field=where)
    return f"(?:{macros[name]})"


def _compile(text: str, path: Path, where: str, *, ignore_case: bool = True) -> re.Pattern[str]:
    try:
        return _regex(text, re.IGNORECASE if ignore_case else 0)
    except ValueError as exc:
        raise DataError(str(path), f"{exc} (after macros)", field=where) from exc


def _speaker_patterns(book: Codebook, delegation: str | None) -> dict[str, str]:
    def actor(alias: Alias) -> str:
        return alias.actor or re.escape(alias.name)

    own = book.aliases.get(delegation or "")
    others = [actor(a) for n, a in book.aliases.items() if n != delegation]
    if book.spec.discourse.others:
        others.append(book.spec.discourse.others)
    return {
        "SELF": f"(?:{actor(own)})" if own is not None else _NOBODY,
        "OTHER": "(?:" + "|".join(f"(?:{o})" for o in others) + ")" if others else _NOBODY,
    }


def _compile_discourse(book: Codebook, delegation: str | None) -> Discourse:
    spec = book.spec
    fill = _speaker_patterns(book, delegation)
    macros = {**fill, **spec.macros}

    def one(f: FilterSpec, where: str) -> Filter:
        text = _expand(f.pattern, macros, book.path, where)
        return Filter(f.name, Gated.of(_compile(text, book.path, where)))

    d = spec.discourse
    return Discourse(
        questions=d.questions,
        sentence=[one(f, f"discourse.sentence[{i}].pattern") for i, f in enumerate(d.sentence)],
        clause=[one(f, f"discourse.clause[{i}].pattern") for i, f in enumerate(d.clause)],
    )


def load_codebook(path: str | Path | None = None) -> Codebook:
    p = Path(path) if path is not None else DEFAULT_CODEBOOK
    spec = load_model(CodebookSpec, p)

    def compile_(pattern: str, where: str, *, ignore_case: bool = True) -> re.Pattern[str]:
        text = _expand(pattern, spec.macros, p, where)
        if _MACRO.search(text) and any(f"{{{n}}}" in text for n in SPEAKER_PLACEHOLDERS):
            raise DataError(str(p), "{SELF}/{OTHER} may only be used in `discourse` patterns", field=where)
        return _compile(text, p, where, ignore_case=ignore_case)

    def optional(pattern: str | None, where: str) -> re.Pattern[str] | None:
        return compile_(pattern, where) if pattern else None

    def gated(pattern: str | None, where: str) -> Gated | None:
        return Gated.of(compile_(pattern, where)) if pattern else None

    def cue(c: CueSpec, votes: dict[int, float], where: str) -> Cue:
        return Cue(
            name=c.name,
            regex=Gated.of(compile_(c.pattern, where)),
            votes=votes,
            if_negated={int(k): v for k, v in c.if_negated.items()},
            negatable=c.negatable,
            dismissed_by=optional(c.dismissed_by, f"{where}.dismissed_by"),
            requires=gated(c.requires, f"{where}.requires"),
            unless=gated(c.unless, f"{where}.unless"),
            shift={int(a): int(b) for a, b in c.shift.items()},
            shift_if_negated={int(a): int(b) for a, b in c.shift_if_negated.items()},
        )

    axes: dict[str, AxisRules] = {}
    for axis, a in spec.axes.items():
        base = f"axes.{axis}"
        relevance = [
            [Gated.of(compile_(r, f"{base}.relevance[{i}]"))]
            if isinstance(r, str)
            else [Gated.of(compile_(x, f"{base}.relevance[{i}].all")) for x in r.all]
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
    for name, alias in spec.delegations.items():
        if alias.actor:
            compile_(alias.actor, f"delegations.{name}.actor")
    neg = spec.negation
    book = Codebook(
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
        spec=spec,
    )
    for delegation in (None, *spec.delegations):
        book.discourse(delegation)  # compile now: a bad filter fails at load time, with its field
    return book
