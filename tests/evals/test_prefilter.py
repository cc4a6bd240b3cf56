"""The anchors in front of the codebook's patterns never change what matches (only how fast)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.scorers.codebook import load_codebook
from evals.scorers.discourse import split_sentences
from evals.scorers.prefilter import Gated, anchors

from .conftest import GOLD


def test_anchors_of_simple_patterns() -> None:
    assert anchors(r"\b(?:tell|share|brief)\w*\s+China", re.I) == {"china"}  # the longest required run
    assert anchors(r"\b(?:tell|share)\w*", re.I) == {"tell", "share"}
    assert anchors(r"\b(?:civilian|commercial|civil)\b", re.I) == {"ivilian", "ommercial", "ivil"}
    assert anchors(r"foo|\w+bar", re.I) == {"foo", "bar"}
    assert anchors(r"(?:foo)?bar", re.I) == {"bar"}  # an optional group is no anchor
    assert anchors(r"foo|\w+", re.I) is None  # one alternative without a literal: nothing to require
    assert Gated.of(re.compile(r"(?-i:US) forces", re.I)).search("US forces") is not None


def _patterns() -> list[re.Pattern[str]]:
    book = load_codebook()
    out = [c.regex.regex for r in book.axes.values() for c in r.cues]
    out += [g.regex for r in book.axes.values() for group in r.relevance for g in group]
    for delegation in (None, "US", "ROK", "JPN", "PRC"):
        d = book.discourse(delegation)
        out += [f.regex.regex for f in d.sentence + d.clause]
    return out


PATTERNS = _patterns()
SENTENCES = [
    s
    for name in ("train.jsonl", "dev.jsonl", "seed.jsonl")
    for line in (GOLD / name).read_text(encoding="utf-8").splitlines()
    for s in split_sentences(json.loads(line)["text"])
]


def test_every_codebook_pattern_is_anchored() -> None:
    assert all(Gated.of(p).anchors for p in PATTERNS)


@pytest.mark.parametrize("sentence", SENTENCES[::3])
def test_the_gate_never_refuses_a_match_on_gold_sentences(sentence: str) -> None:
    for p in PATTERNS:
        if p.search(sentence):
            assert Gated.of(p).search(sentence) is not None, p.pattern


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(sorted({w for s in SENTENCES for w in s.split()})), min_size=1, max_size=25))
def test_the_gate_never_refuses_a_match_on_shuffled_words(words: list[str]) -> None:
    text = " ".join(words)
    for p in PATTERNS:
        if p.search(text):
            assert Gated.of(p).search(text) is not None, p.pattern
