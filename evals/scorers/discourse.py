"""Reading a statement before its cues count: sentences, who "we" is, and what is not the speaker's position.

A gold label, and a unit's level, is the **speaker's own** position. Much of what delegates say is not:
questions, process talk ("before we settle this I need to know…"), reported words of others ("the Vice
Minister told our ambassador…", a newspaper's headline) and descriptions of another country's stance
("Tokyo has evidently decided it wants…"). :func:`read_statement` splits a statement into sentences,
resolves first-person pronouns to the speaking delegation, and applies the codebook's ``discourse``
filters:

* ``questions``: a sentence ending in "?" takes no position;
* ``discourse.sentence`` filters drop a whole sentence (reported speech, process talk, deferral);
* ``discourse.clause`` filters drop the text from their match to the end of its clause (``{OTHER}``'s
  attitude: "If Tokyo wishes to help, its vessels can wait off Tsushima" keeps the main clause).

``{SELF}`` and ``{OTHER}`` in those filters are the speaking delegation's own names and every other
actor's (codebook ``delegations.*.actor`` and ``discourse.others``), so "Korea would not object" is the
ROK's own position when the ROK speaks and a report of another's when Japan does. Hedges and conditionals
are *not* filtered: "if Seoul refuses, the SDF will go in" states a position (the gold README's rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from evals.scorers.codebook import Codebook
from evals.scorers.prefilter import Gated

# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket) before whitespace and an
# opening capital, quote or bracket; "U.S. forces" does not end one (a lower-case word follows).
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Z]\.)(?:['\"’”)\]]?)\s+(?=[\"'‘“(\[]?[A-Z0-9])")
_CLAUSE_END = re.compile(r"[;:,.!?]|\b(?:but|whereas|although|though|however|yet)\b", re.IGNORECASE)
_QUESTION = re.compile(r"\?['\"’”)\]]?\s*$")


@dataclass(frozen=True)
class Sentence:
    utterance_id: str
    original: str
    """Verbatim (what evidence quotes)."""
    text: str
    """Pronouns resolved and clauses of others blanked: what relevance and cues are matched against."""
    dropped: str | None = None
    """Why the whole sentence takes no position of the speaker's (a filter's name), or None."""
    removed: tuple[str, ...] = ()
    """Clause filters that blanked part of it."""
    resolved: str = ""
    """Pronouns resolved, nothing blanked: what decides whether the sentence is on an axis (a sentence
    about another's attitude is still on the topic; only its cues are not the speaker's)."""

    @cached_property
    def lowered(self) -> str:
        return self.text.lower()

    @cached_property
    def resolved_lowered(self) -> str:
        return self.resolved.lower()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; the split keeps each sentence's closing quote with it."""
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.start() + len(m.group(0).rstrip())
        out.append(text[start:end])
        start = m.end()
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


def resolve_pronouns(book: Codebook, sentence: str, delegation: str | None) -> str:
    """First-person pronouns rewritten to the delegation's name and adjective ("our forces" → "Japanese
    forces"); unchanged when the delegation has no alias."""
    alias = book.aliases.get(delegation or "")
    if alias is None:
        return sentence
    sentence = book.possessive.sub(alias.adjective, sentence)
    return book.subject.sub(alias.name, sentence)


def _blank_clauses(text: str, patterns: list[tuple[str, Gated]]) -> tuple[str, tuple[str, ...]]:
    removed: list[str] = []
    for name, regex in patterns:
        for _ in range(8):  # a sentence rarely holds more than one or two such clauses
            m = regex.search(text)
            if m is None or not m.group(0):
                break
            nxt = _CLAUSE_END.search(text, m.end())
            end = nxt.start() if nxt else len(text)
            text = text[: m.start()] + " ; " + text[end:]
            removed.append(name)
    return text, tuple(removed)


def read_sentence(book: Codebook, delegation: str | None, utterance_id: str, original: str) -> Sentence:
    filters = book.discourse(delegation)
    text = resolve_pronouns(book, original, delegation)
    if filters.questions and _QUESTION.search(original):
        return Sentence(utterance_id, original, text, dropped="question")
    lowered = text.lower()
    for f in filters.sentence:
        if f.regex.search(text, lowered):
            return Sentence(utterance_id, original, text, dropped=f.name)
    blanked, removed = _blank_clauses(text, [(f.name, f.regex) for f in filters.clause])
    return Sentence(utterance_id, original, blanked, removed=removed, resolved=text)


def read_statement(book: Codebook, delegation: str | None, utterance_id: str, text: str) -> list[Sentence]:
    """One statement (an utterance) as sentences, each resolved and filtered for the speaker."""
    return [read_sentence(book, delegation, utterance_id, s) for s in split_sentences(text)]
