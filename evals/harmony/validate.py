"""How far the harmony classifier can be trusted: agreement with the hand-labelled reply pairs.

``labelled.jsonl`` holds reply pairs written and labelled by hand (``author: "hand"``), split once by a hash
of their id into a ``dev`` part (read while writing the lexicon) and a ``heldout`` part (never read for
it). :func:`agreement` gives, per part: accuracy, Cohen's kappa (unweighted, three classes), per-label
precision and recall, and the confusion matrix (rows: the hand label; columns: the classifier).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from evals.harmony.classifier import LABELS, Label, Lexicon, classify, load_lexicon
from harness.errors import DataError

LABELLED = Path(__file__).resolve().parent / "labelled.jsonl"


class LabelledPair(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    context: str
    reply: str
    label: Label
    split: str
    author: str


def read_labelled(path: Path = LABELLED) -> list[LabelledPair]:
    rows: list[LabelledPair] = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(LabelledPair.model_validate_json(line))
            except ValueError as exc:
                raise DataError(str(path), f"not a labelled reply pair ({exc})", line=i) from exc
    return rows


def cohen_kappa(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] = LABELS) -> float | None:
    n = len(gold)
    if not n:
        return None
    observed = sum(g == p for g, p in zip(gold, pred, strict=True)) / n
    expected = sum((gold.count(lb) / n) * (pred.count(lb) / n) for lb in labels)
    return None if expected == 1 else (observed - expected) / (1 - expected)


def agreement(rows: Sequence[LabelledPair], lex: Lexicon | None = None) -> dict[str, Any]:
    lex = lex or load_lexicon()
    gold = [r.label for r in rows]
    pred = [classify(r.reply, lex) for r in rows]
    n = len(rows)
    per_label: dict[str, dict[str, float | None]] = {}
    for lb in LABELS:
        tp = sum(g == p == lb for g, p in zip(gold, pred, strict=True))
        said = pred.count(lb)
        true = gold.count(lb)
        per_label[lb] = {
            "precision": tp / said if said else None,
            "recall": tp / true if true else None,
            "n": true,
        }
    return {
        "n": n,
        "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / n if n else None,
        "kappa": cohen_kappa(gold, pred),
        "per_label": per_label,
        "confusion": {
            "labels": list(LABELS),
            "matrix": [
                [sum(g == a and p == b for g, p in zip(gold, pred, strict=True)) for b in LABELS]
                for a in LABELS
            ],
        },
        "errors": [
            {"id": r.id, "label": g, "predicted": p, "reply": r.reply}
            for r, g, p in zip(rows, gold, pred, strict=True)
            if g != p
        ],
    }


def validate(path: Path = LABELLED, lex: Lexicon | None = None) -> dict[str, Any]:
    """Agreement on each part of the labelled set (``dev``, ``heldout``)."""
    rows = read_labelled(path)
    parts = sorted({r.split for r in rows})
    return {part: agreement([r for r in rows if r.split == part], lex) for part in parts}


def dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)
