"""The harmony classifier: agreement or disagreement in plenary replies, from a lexicon (data), validated
on hand-labelled reply pairs (see :mod:`evals.harmony.validate`)."""

from __future__ import annotations

from evals.harmony.classifier import LABELS, Label, Lexicon, classify, cues_in, load_lexicon, score

__all__ = ["LABELS", "Label", "Lexicon", "classify", "cues_in", "load_lexicon", "score"]
