"""Divergence metrics over :class:`~harness.schema.AxisScore` lists: the one place every figure is defined.

* :mod:`~evals.metrics.table`: scores by unit, the level scale (from the rubric), pairs, means;
* :mod:`~evals.metrics.divergence`: per run and move — distances, stance series, the trend of the gap,
  concessions, stated-vs-revealed gaps, deviation from persona priors;
* :mod:`~evals.metrics.gap`: the stated-vs-revealed gap per delegation and axis (cards vs a judge);
* :mod:`~evals.metrics.across`: across runs — level distributions, Wasserstein-1, the cluster bootstrap;
* :mod:`~evals.metrics.summary`: the summary behind ``harness divergence``, the report and batches;
* :mod:`~evals.metrics.findings`: expected findings of the human exercise reproduced or not, deviation
  from persona priors (``harness fidelity``);
* :mod:`~evals.metrics.effects`: two conditions compared (effect, interval, p-value, corrections, power),
  behind ``harness compare`` and ``harness sensitivity``.
"""

from __future__ import annotations

from evals.metrics.across import (
    BOOT_SEED,
    N_BOOT,
    Interval,
    LevelDistribution,
    bootstrap_p_value,
    cluster_bootstrap,
    level_distributions,
    pairwise_wasserstein,
    wasserstein1,
)
from evals.metrics.divergence import (
    TREND_EPS,
    Cell,
    Concession,
    Distance,
    Gap,
    PriorDeviation,
    Trend,
    TrendLabel,
    concession_index,
    concessions,
    divergence_trend,
    pairwise_distances,
    prior_deviation,
    slope,
    stated_revealed_gap,
    trend_of,
)
from evals.metrics.effects import (
    CORRECTIONS,
    Correction,
    Effect,
    adjust_p,
    min_detectable,
    p_floor,
    two_sample_effect,
)
from evals.metrics.findings import FindingResult, evaluate_finding, finding_margin, prior_deviations
from evals.metrics.gap import GapFigures, GapSummary, gap_rows, gap_summaries, gap_summary
from evals.metrics.summary import (
    AxisFigures,
    DelegationFigures,
    PairFigures,
    Summary,
    divergence_summary,
    summarise,
    summary_rows,
)
from evals.metrics.table import (
    Pair,
    Scale,
    ScoreTable,
    max_gap,
    mean_or_none,
    pair_label,
    scale_of,
    scales_of,
    source_label,
    split_by_source,
)

__all__ = [
    "BOOT_SEED",
    "CORRECTIONS",
    "N_BOOT",
    "TREND_EPS",
    "AxisFigures",
    "Cell",
    "Concession",
    "Correction",
    "DelegationFigures",
    "Distance",
    "Effect",
    "FindingResult",
    "Gap",
    "GapFigures",
    "GapSummary",
    "Interval",
    "LevelDistribution",
    "Pair",
    "PairFigures",
    "PriorDeviation",
    "Scale",
    "ScoreTable",
    "Summary",
    "Trend",
    "TrendLabel",
    "adjust_p",
    "bootstrap_p_value",
    "cluster_bootstrap",
    "concession_index",
    "concessions",
    "divergence_summary",
    "divergence_trend",
    "evaluate_finding",
    "finding_margin",
    "gap_rows",
    "gap_summaries",
    "gap_summary",
    "level_distributions",
    "max_gap",
    "mean_or_none",
    "min_detectable",
    "p_floor",
    "pair_label",
    "pairwise_distances",
    "pairwise_wasserstein",
    "prior_deviation",
    "prior_deviations",
    "scale_of",
    "scales_of",
    "slope",
    "source_label",
    "split_by_source",
    "stated_revealed_gap",
    "summarise",
    "summary_rows",
    "trend_of",
    "two_sample_effect",
    "wasserstein1",
]
