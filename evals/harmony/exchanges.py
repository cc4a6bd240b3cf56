"""Plenary exchanges of a run, each read by the classifier.

An exchange is a reply from one delegation to another in plenary: a **question** (it replies to the
target's report) or an **answer** (it replies to the question put to it). Reports and the hot-wash are
statements, not replies, and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.harmony.classifier import Label, Lexicon, classify
from harness.transcript import Run

REPLY_PHASES = ("question", "answer")


@dataclass(frozen=True)
class Exchange:
    run_id: str
    move: str
    speaker: str  # delegation id of the one replying
    addressee: str
    phase: str
    utterance_id: str
    label: Label

    @property
    def pair(self) -> tuple[str, str]:
        a, b = sorted((self.speaker, self.addressee))
        return a, b


def exchanges(run: Run, lex: Lexicon | None = None) -> list[Exchange]:
    out: list[Exchange] = []
    for u in run.utterances():
        if u.channel != "plenary" or u.phase not in REPLY_PHASES or not u.delegation or not u.to:
            continue
        if u.to == u.delegation:
            continue
        out.append(
            Exchange(run.run_id, u.move, u.delegation, u.to, u.phase, u.utterance_id, classify(u.text, lex))
        )
    return out
