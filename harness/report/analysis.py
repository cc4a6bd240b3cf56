"""Divergence numbers for the report, computed from ``AxisScore`` rows alone (no model).

* pairwise distance ``|x_i - x_j| / 4`` per move and axis, for every pair of delegations that a scorer
  scored (nothing here knows which delegations or axes exist);
* per-delegation stance series over moves;
* the "where the allies diverged" summary: widest gap per axis and scorer, and the trend from the first
  to the last scored move;
* for several runs, level distributions with cluster-bootstrap confidence intervals over runs.

Several runs are pooled by move id: a cell is the mean over the runs in which both delegations were
scored. A score with ``level: null`` is missing data, never 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from harness.schema import AxisScore

Pair = tuple[str, str]
Key = tuple[int, str, str, str]  # run index, move, axis, delegation
TREND_EPS = 0.05
N_BOOT = 2000
BOOT_SEED = 20160601


def source_label(score: AxisScore) -> str:
    """Scores are compared per scorer (and per judge model, for a panel)."""
    return (
        score.scorer
        if not score.model or score.scorer in ("stated", "rules")
        else (f"{score.scorer} ({score.model})")
    )


def mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return sum(vals) / len(vals) if vals else None


@dataclass
class EvidenceView:
    anchor: str
    run_index: int
    run_id: str
    move: str
    delegation: str
    axis: str
    source: str
    level: int | None
    quote: str
    utterance_id: str
    href: str | None


@dataclass
class Cell:
    move: str
    pair: Pair
    value: float | None
    n: int
    level_a: float | None = None
    level_b: float | None = None


@dataclass
class AxisBlock:
    source: str
    axis: str
    moves: list[str]
    pairs: list[Pair]
    delegations: list[str]
    cells: list[Cell]
    series: dict[str, list[float | None]]
    evidence: list[EvidenceView] = field(default_factory=list)

    def cell(self, pair: Pair, move: str) -> Cell:
        return next(c for c in self.cells if c.pair == pair and c.move == move)

    def move_means(self) -> list[float | None]:
        return [mean(c.value for c in self.cells if c.move == m and c.value is not None) for m in self.moves]


@dataclass
class SummaryRow:
    source: str
    axis: str
    widest: Cell | None
    first_move: str | None
    last_move: str | None
    first_mean: float | None
    last_mean: float | None
    trend: str
    evidence: list[EvidenceView]


@dataclass
class DistRow:
    delegation: str
    n_runs: int
    n_scores: int
    shares: list[float]
    mean: float | None
    lo: float | None
    hi: float | None


@dataclass
class PairRow:
    pair: Pair
    n_runs: int
    mean: float | None
    lo: float | None
    hi: float | None


@dataclass
class DistBlock:
    source: str
    axis: str
    rows: list[DistRow]
    pairs: list[PairRow]


@dataclass
class Analysis:
    sources: list[str]
    blocks: list[AxisBlock]
    summary: list[SummaryRow]
    distributions: list[DistBlock]
    n_scores: int

    def by_source(self, source: str) -> list[AxisBlock]:
        return [b for b in self.blocks if b.source == source]


def _ordered(preferred: Sequence[str], seen: Iterable[str]) -> list[str]:
    present = list(dict.fromkeys(seen))
    return [x for x in preferred if x in present] + [x for x in present if x not in preferred]


class _Table:
    """Levels and evidence of one source, indexed by (run, move, axis, delegation)."""

    def __init__(self, rows: list[tuple[int, AxisScore]]) -> None:
        self.levels: dict[Key, list[float]] = defaultdict(list)
        self.rows = rows
        for run_index, s in rows:
            if s.level is not None:
                self.levels[(run_index, s.move, s.axis, s.delegation)].append(float(s.level))
        self.runs = sorted({r for r, _ in rows})

    def level(self, key: Key) -> float | None:
        return mean(self.levels.get(key, []))


def _axis_block(table: _Table, source: str, axis: str, moves: list[str], delegations: list[str]) -> AxisBlock:
    pairs = list(combinations(delegations, 2))
    cells: list[Cell] = []
    for a, b in pairs:
        for m in moves:
            dists, las, lbs = [], [], []
            for r in table.runs:
                la, lb = table.level((r, m, axis, a)), table.level((r, m, axis, b))
                if la is not None and lb is not None:
                    dists.append(abs(la - lb) / 4)
                    las.append(la)
                    lbs.append(lb)
            cells.append(Cell(m, (a, b), mean(dists), len(dists), mean(las), mean(lbs)))
    series = {
        d: [mean(v for r in table.runs if (v := table.level((r, m, axis, d))) is not None) for m in moves]
        for d in delegations
    }
    return AxisBlock(source, axis, moves, pairs, delegations, cells, series)


def _trend(block: AxisBlock) -> tuple[str | None, str | None, float | None, float | None, str]:
    scored = [(m, v) for m, v in zip(block.moves, block.move_means(), strict=True) if v is not None]
    if not scored:
        return None, None, None, None, "no pair scored"
    (m0, v0), (m1, v1) = scored[0], scored[-1]
    if m0 == m1:
        return m0, m1, v0, v1, "one move scored"
    delta = v1 - v0
    word = "widened" if delta > TREND_EPS else "narrowed" if delta < -TREND_EPS else "held steady"
    return m0, m1, v0, v1, word


def _summary_row(block: AxisBlock) -> SummaryRow:
    scored = [c for c in block.cells if c.value is not None]
    widest = None
    if scored:
        top = max(c.value for c in scored if c.value is not None)
        order = {m: i for i, m in enumerate(block.moves)}
        widest = min((c for c in scored if c.value == top), key=lambda c: order[c.move])
    m0, m1, v0, v1, word = _trend(block)
    evidence: list[EvidenceView] = []
    if widest is not None:
        for d in widest.pair:
            ev = next((e for e in block.evidence if e.move == widest.move and e.delegation == d), None)
            if ev is not None:
                evidence.append(ev)
    return SummaryRow(block.source, block.axis, widest, m0, m1, v0, v1, word, evidence)


def bootstrap_mean(
    groups: Sequence[Sequence[float]], seed: int, n_boot: int = N_BOOT
) -> tuple[float | None, float | None, float | None]:
    """Pooled mean of per-run value groups with a 95% percentile CI from resampling runs (clusters)."""
    groups = [g for g in groups if g]
    if not groups:
        return None, None, None
    sums = np.array([sum(g) for g in groups], dtype=float)
    counts = np.array([len(g) for g in groups], dtype=float)
    point = float(sums.sum() / counts.sum())
    if len(groups) < 2:
        return point, None, None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(groups), size=(n_boot, len(groups)))
    stats = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return point, float(lo), float(hi)


def _dist_block(table: _Table, block: AxisBlock, seed: int) -> DistBlock:
    rows: list[DistRow] = []
    for i, d in enumerate(block.delegations):
        groups = [
            [lv for m in block.moves for lv in table.levels.get((r, m, block.axis, d), [])]
            for r in table.runs
        ]
        pooled = [lv for g in groups for lv in g]
        shares = [
            sum(1 for lv in pooled if lv == level) / len(pooled) if pooled else 0.0 for level in range(5)
        ]
        point, lo, hi = bootstrap_mean(groups, seed + i)
        rows.append(DistRow(d, sum(1 for g in groups if g), len(pooled), shares, point, lo, hi))
    pairs: list[PairRow] = []
    for j, (a, b) in enumerate(block.pairs):
        groups = []
        for r in table.runs:
            g = []
            for m in block.moves:
                la, lb = table.level((r, m, block.axis, a)), table.level((r, m, block.axis, b))
                if la is not None and lb is not None:
                    g.append(abs(la - lb) / 4)
            groups.append(g)
        point, lo, hi = bootstrap_mean(groups, seed + 100 + j)
        pairs.append(PairRow((a, b), sum(1 for g in groups if g), point, lo, hi))
    return DistBlock(block.source, block.axis, rows, pairs)


def analyse(
    scores: Sequence[tuple[int, str, AxisScore]],
    *,
    moves: Sequence[str],
    delegations: Sequence[str],
    axes: Sequence[str],
    utterance_href: dict[tuple[int, str], str],
    multi: bool,
) -> Analysis:
    """``scores`` are (run index, run id, score) triples; ``utterance_href`` maps (run, id) → ``#u-…``."""
    by_source: dict[str, list[tuple[int, AxisScore]]] = defaultdict(list)
    run_ids: dict[int, str] = {}
    for run_index, run_id, s in scores:
        by_source[source_label(s)].append((run_index, s))
        run_ids[run_index] = run_id
    blocks: list[AxisBlock] = []
    distributions: list[DistBlock] = []
    ev_counter = 0
    for n_source, (source, rows) in enumerate(by_source.items()):
        table = _Table(rows)
        all_moves = list(dict.fromkeys([*moves, *(s.move for _, s in rows)]))
        dels = _ordered(delegations, (s.delegation for _, s in rows))
        for axis in _ordered(axes, (s.axis for _, s in rows)):
            block = _axis_block(table, source, axis, all_moves, dels)
            move_order = {m: i for i, m in enumerate(all_moves)}
            del_order = {d: i for i, d in enumerate(dels)}
            cited = sorted(
                ((r, s) for r, s in rows if s.axis == axis and s.evidence),
                key=lambda rs: (rs[0], move_order[rs[1].move], del_order[rs[1].delegation]),
            )
            for r, s in cited:
                for ev in s.evidence:
                    ev_counter += 1
                    block.evidence.append(
                        EvidenceView(
                            anchor=f"ev-{ev_counter}",
                            run_index=r,
                            run_id=run_ids[r],
                            move=s.move,
                            delegation=s.delegation,
                            axis=axis,
                            source=source,
                            level=s.level,
                            quote=ev.quote,
                            utterance_id=ev.utterance_id,
                            href=utterance_href.get((r, ev.utterance_id)),
                        )
                    )
            blocks.append(block)
            if multi:
                distributions.append(_dist_block(table, block, BOOT_SEED + 1000 * n_source))
    return Analysis(
        sources=list(by_source),
        blocks=blocks,
        summary=[_summary_row(b) for b in blocks],
        distributions=distributions,
        n_scores=len(scores),
    )
