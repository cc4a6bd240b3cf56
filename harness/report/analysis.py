"""The report's view of the divergence figures: every number comes from :func:`evals.metrics.summarise`
(the same summary ``harness divergence`` prints), arranged per scorer and axis, with the evidence quotes
linked to the utterances they cite.

Scores are compared per source (a scorer, or a judge model). The level scale of each axis comes from
its rubric. A score with ``level: null`` is missing data, never 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evals.metrics import (
    AxisFigures,
    Cell,
    Pair,
    Scale,
    source_label,
    summarise,
)
from evals.metrics.across import BOOT_SEED, N_BOOT
from harness.schema import AxisScore

__all__ = ["N_BOOT", "Analysis", "AxisBlock", "DistBlock", "SummaryRow", "analyse"]


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


@dataclass(frozen=True)
class UnscoredView:
    """A unit left unscored because its evidence failed verification (or no reply was valid)."""

    run_index: int
    move: str
    delegation: str
    reason: str


@dataclass
class AxisBlock:
    """One source × axis: the heatmap cells, the stance series and the quotes behind them."""

    source: str
    figures: AxisFigures
    delegations: list[str]  # in the scenario's order (legends and colours)
    evidence: list[EvidenceView] = field(default_factory=list)
    unscored: list[UnscoredView] = field(default_factory=list)
    multi: bool = False

    def reasons(self, pair: Pair, move: str) -> list[str]:
        """Why either delegation of ``pair`` is unscored at ``move`` (in any run)."""
        return [
            f"{u.delegation}{f' (run {u.run_index + 1})' if self.multi else ''} unscored: {u.reason}"
            for u in self.unscored
            if u.move == move and u.delegation in pair
        ]

    @property
    def axis(self) -> str:
        return self.figures.axis

    @property
    def moves(self) -> list[str]:
        return self.figures.moves

    @property
    def pairs(self) -> list[Pair]:
        return self.figures.pairs

    @property
    def levels(self) -> Scale:
        return self.figures.scale

    @property
    def series(self) -> dict[str, list[float | None]]:
        return self.figures.series

    def cell(self, pair: Pair, move: str) -> Cell:
        return self.figures.cell(pair, move)


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
    levels: Scale
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


def _summary_row(block: AxisBlock) -> SummaryRow:
    f = block.figures
    evidence: list[EvidenceView] = []
    if f.widest is not None:
        for d in f.widest.pair:
            ev = next((e for e in block.evidence if e.move == f.widest.move and e.delegation == d), None)
            if ev is not None:
                evidence.append(ev)
    t = f.trend
    return SummaryRow(
        block.source,
        f.axis,
        f.widest,
        t.first_move,
        t.last_move,
        t.first_value,
        t.last_value,
        t.label,
        evidence,
    )


def _dist_block(block: AxisBlock) -> DistBlock:
    f = block.figures
    by_delegation = {d.delegation: d for d in f.delegation_figures}
    rows = []
    for d in block.delegations:
        fig = by_delegation.get(d)
        if fig is None:
            continue
        probs = fig.distribution.probs or [0.0] * len(f.scale)
        iv = fig.mean_level
        rows.append(DistRow(d, fig.n_runs, fig.distribution.n, probs, iv.estimate, iv.low, iv.high))
    pairs = [
        PairRow(p.pair, p.n_runs, p.distance.estimate, p.distance.low, p.distance.high)
        for p in f.pair_figures
    ]
    return DistBlock(block.source, f.axis, f.scale, rows, pairs)


def analyse(
    scores: Sequence[tuple[int, str, AxisScore]],
    *,
    moves: Sequence[str],
    delegations: Sequence[str],
    axes: Sequence[str],
    scales: Mapping[str, Scale],
    utterance_href: dict[tuple[int, str], str],
    multi: bool,
    unscored: Mapping[tuple[int, str, str, str, str], str] | None = None,
) -> Analysis:
    """``scores`` are (run index, run id, score) triples; ``utterance_href`` maps (run, id) → ``#u-…``;
    ``unscored`` says why a unit is unscored, by (run index, move, delegation, axis, source)."""
    by_source: dict[str, list[tuple[int, AxisScore]]] = defaultdict(list)
    run_ids: dict[int, str] = {}
    for run_index, run_id, s in scores:
        by_source[source_label(s.scorer, s.model)].append((run_index, s))
        run_ids[run_index] = run_id
    blocks: list[AxisBlock] = []
    ev_counter = 0
    for source, rows in by_source.items():
        summary = summarise([s for _, s in rows], scales=scales, moves=moves, axes=axes, seed=BOOT_SEED)
        present = {s.delegation for _, s in rows}
        dels = [d for d in delegations if d in present] + sorted(present - set(delegations))
        for figures in summary.axes:
            move_order = {m: i for i, m in enumerate(figures.moves)}
            del_order = {d: i for i, d in enumerate(dels)}
            why = sorted(
                (
                    UnscoredView(r, m, d, reason)
                    for (r, m, d, a, src), reason in (unscored or {}).items()
                    if src == source and a == figures.axis
                ),
                key=lambda u: (u.run_index, move_order.get(u.move, 0), del_order.get(u.delegation, 0)),
            )
            block = AxisBlock(source, figures, dels, unscored=why, multi=multi)
            cited = sorted(
                ((r, s) for r, s in rows if s.axis == figures.axis and s.evidence),
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
                            axis=figures.axis,
                            source=source,
                            level=s.level,
                            quote=ev.quote,
                            utterance_id=ev.utterance_id,
                            href=utterance_href.get((r, ev.utterance_id)),
                        )
                    )
            blocks.append(block)
    return Analysis(
        sources=list(by_source),
        blocks=blocks,
        summary=[_summary_row(b) for b in blocks],
        distributions=[_dist_block(b) for b in blocks] if multi else [],
        n_scores=len(scores),
    )
