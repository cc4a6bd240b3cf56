"""``harness harmony RUN|BATCH``: the harmony index per condition, written to ``harmony.json``.

Exchanges come from :mod:`evals.harmony.exchanges` (classified by the lexicon), card distances from the
``stated`` scores (the levels on the position cards); the figures are :mod:`evals.metrics.harmony`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.harmony.exchanges import exchanges
from evals.harmony.validate import validate
from evals.metrics import pair_label, scales_of
from evals.metrics.harmony import (
    DISCORD_IN_WORDS,
    HARMONY_IN_WORDS,
    cells_json,
    harmony_cells,
    load_flags,
    pair_disagreement,
)
from harness.recorded import rubrics_of
from harness.research.runs import RunGroup, groups_of, scores_for, write_json

HARMONY_JSON = "harmony.json"


def group_harmony(group: RunGroup, *, scorer: str, n_boot: int, seed: int) -> dict[str, Any]:
    ex = [e for run in group.runs for e in exchanges(run)]
    scores = [s for run in group.runs for s in scores_for(run, scorer)]
    moves = list(dict.fromkeys(m for run in group.runs for m in run.moves()))
    scales = scales_of(rubrics_of(group.runs[0].manifest))
    cells = harmony_cells(ex, scores, scales=scales, moves=moves, flags=load_flags())
    pairs = pair_disagreement(ex, n_boot=n_boot, seed=seed)
    return {
        "condition": group.label,
        "runs": len(group.runs),
        "exchanges": len(ex),
        "cells": cells_json(cells),
        "pairs": {pair_label(p): iv.as_dict() for p, iv in pairs.items()},
        "flags": {
            HARMONY_IN_WORDS: sum(1 for c in cells if c.flag == HARMONY_IN_WORDS),
            DISCORD_IN_WORDS: sum(1 for c in cells if c.flag == DISCORD_IN_WORDS),
        },
    }


def classifier_figures() -> dict[str, Any]:
    """The classifier's agreement with the hand labels, per part (without the error lists)."""
    return {
        part: {k: v for k, v in figures.items() if k in ("n", "accuracy", "kappa", "per_label")}
        for part, figures in validate().items()
    }


def harmony(
    ref: str | Path,
    *,
    root: str | Path | None = None,
    scorer: str = "stated",
    n_boot: int = 1000,
    seed: int = 0,
    write: bool = True,
) -> dict[str, Any]:
    folder, groups = groups_of(ref, root)
    result = {
        "scorer": scorer,
        "definition": "disagreement = share of a pair's plenary questions and answers the lexicon "
        "classifier reads as disagreement; card_distance = mean |x_i - x_j| / width over axes and runs",
        "thresholds": load_flags(),
        "classifier": classifier_figures(),
        "conditions": [group_harmony(g, scorer=scorer, n_boot=n_boot, seed=seed) for g in groups],
    }
    if write:
        write_json(folder / HARMONY_JSON, result)
    return result
