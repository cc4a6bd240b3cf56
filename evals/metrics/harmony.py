"""The harmony index: how often plenary exchanges disagree, set against how far apart the position cards are.

Per move and delegation pair (over runs): the **disagreement rate** is the share of the pair's plenary
exchanges (questions and answers between the two, either direction) that the classifier reads as
disagreement; the **card distance** is the pair's mean |x_i − x_j| / width over the axes and runs (the
same distance as every divergence figure, :func:`~evals.metrics.divergence.distances_of`). A cell is
flagged *harmony in words, divergence on cards* when few exchanges disagree while the cards are far apart
(the "farcical harmony" of LLM teams), and *discord in words, convergence on cards* for the reverse; the
thresholds are data (``evals/harmony/flags.yaml``). Over all moves, each pair's disagreement rate carries
a cluster-bootstrap CI over runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from evals.metrics.across import BOOT_SEED, N_BOOT, Interval, cluster_bootstrap
from evals.metrics.divergence import distances_of
from evals.metrics.table import Pair, Scale, ScoreTable, mean_or_none
from harness.schema import AxisScore

FLAGS_FILE = Path(__file__).resolve().parents[1] / "harmony" / "flags.yaml"
HARMONY_IN_WORDS = "harmony in words, divergence on cards"
DISCORD_IN_WORDS = "discord in words, convergence on cards"


class LabelledExchange(Protocol):
    @property
    def run_id(self) -> str: ...
    @property
    def move(self) -> str: ...
    @property
    def pair(self) -> tuple[str, str]: ...
    @property
    def label(self) -> str: ...


def load_flags(path: Path = FLAGS_FILE) -> dict[str, dict[str, float]]:
    data: dict[str, dict[str, float]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class HarmonyCell:
    move: str
    pair: Pair
    exchanges: int
    agree: int
    disagree: int
    neutral: int
    disagreement: float | None  # disagree / exchanges
    card_distance: float | None  # mean over axes and runs
    flag: str | None


def _flag(rate: float | None, dist: float | None, flags: Mapping[str, Mapping[str, float]]) -> str | None:
    if rate is None or dist is None:
        return None
    h, d = flags["harmony_in_words"], flags["discord_in_words"]
    if rate <= h["disagreement_at_most"] and dist >= h["card_distance_at_least"]:
        return HARMONY_IN_WORDS
    if rate >= d["disagreement_at_least"] and dist <= d["card_distance_at_most"]:
        return DISCORD_IN_WORDS
    return None


def harmony_cells(
    exchanges: Sequence[LabelledExchange],
    scores: Sequence[AxisScore],
    *,
    scales: Mapping[str, Scale] | None = None,
    moves: Sequence[str] = (),
    flags: Mapping[str, Mapping[str, float]] | None = None,
) -> list[HarmonyCell]:
    """One cell per (move, pair) that has exchanges or cards, moves in ``moves`` order first."""
    flags = flags or load_flags()
    dist = distances_of(ScoreTable(scores, scales))
    card: dict[tuple[str, Pair], list[float | None]] = {}
    for d in dist:
        card.setdefault((d.move, d.pair), []).append(d.value)
    words: dict[tuple[str, Pair], list[str]] = {}
    for e in exchanges:
        words.setdefault((e.move, e.pair), []).append(e.label)
    keys = list(dict.fromkeys([*words, *card]))
    order = {m: i for i, m in enumerate(moves)}
    keys.sort(key=lambda k: (order.get(k[0], len(order)), k[1]))
    cells: list[HarmonyCell] = []
    for move, pair in keys:
        labels = words.get((move, pair), [])
        n = len(labels)
        rate = labels.count("disagree") / n if n else None
        distance = mean_or_none(card.get((move, pair), []))
        cells.append(
            HarmonyCell(
                move,
                pair,
                n,
                labels.count("agree"),
                labels.count("disagree"),
                labels.count("neutral"),
                rate,
                distance,
                _flag(rate, distance, flags),
            )
        )
    return cells


def pair_disagreement(
    exchanges: Sequence[LabelledExchange], *, n_boot: int = N_BOOT, seed: int = BOOT_SEED
) -> dict[Pair, Interval]:
    """Each pair's disagreement rate over all moves, with its cluster-bootstrap CI over runs."""
    out: dict[Pair, Interval] = {}
    for pair in sorted({e.pair for e in exchanges}):
        clusters: dict[str, list[float]] = {}
        for e in exchanges:
            if e.pair == pair:
                clusters.setdefault(e.run_id, []).append(1.0 if e.label == "disagree" else 0.0)
        out[pair] = cluster_bootstrap(clusters, mean_or_none, n_boot=n_boot, seed=seed)
    return out


def cells_json(cells: Sequence[HarmonyCell]) -> list[dict[str, Any]]:
    return [
        {
            "move": c.move,
            "pair": list(c.pair),
            "exchanges": c.exchanges,
            "agree": c.agree,
            "disagree": c.disagree,
            "neutral": c.neutral,
            "disagreement": c.disagreement,
            "card_distance": c.card_distance,
            "flag": c.flag,
        }
        for c in cells
    ]
