"""The review report: one self-contained, offline HTML file per run (or per set of runs).

``build_report(runs, scores)`` returns the page as a string; ``write_report(paths, out)`` loads the runs
and whatever ``scores/*.jsonl`` their folders hold and writes the file (default: ``report.html`` in the
run folder). The page holds the manifest, the transcript with delegation and caucus/plenary views, the
position cards side by side, divergence heatmaps and stance timelines as inline SVG, evidence quotes
linked to the utterances they cite, a "where the allies diverged" summary and, for several runs, level
distributions with bootstrap intervals. Each scorer's numbers carry its saved agreement with gold labels
(or "not validated"), a judge unit whose evidence failed verification is shown unscored with the reason,
and with position cards and a judge the stated-vs-revealed gap is tabled (:mod:`harness.report.trust`).
Trainers' notes (``annotations.jsonl``) sit under what they mark. Nothing in it loads from the network.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any

from evals.metrics import GapSummary, gap_summaries, scales_of
from evals.metrics import pair_label as _pair_label
from evals.scores_io import NOTES_SUFFIX, read_scores
from harness.errors import ConfigError
from harness.report.analysis import N_BOOT, Analysis, SummaryRow, analyse
from harness.report.lookup import Lookup, load_lookup
from harness.report.render import render_page
from harness.report.research import fmt_num, research_of
from harness.report.svg import distribution, fmt_level, heatmap, timeline
from harness.report.trainer_notes import attach_notes
from harness.report.transcript_view import Anchors, Citation, UttView, build_run_view, card_axes, slug
from harness.report.trust import (
    UnscoredKey,
    ValidationView,
    load_notes,
    mask_unverified,
    source_validations,
    validation_folders,
)
from harness.schema import AxisScore
from harness.transcript import Run

__all__ = ["REPORT_NAME", "build_report", "load_scores", "write_batch_report", "write_report"]

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"


def load_scores(run: Run) -> list[AxisScore]:
    """Every ``AxisScore`` in ``<run folder>/scores/*.jsonl`` that belongs to this run (read by the one
    scores reader: limits, line numbers)."""
    folder = run.folder / "scores"
    out: list[AxisScore] = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        if path.name.endswith(NOTES_SUFFIX):
            continue
        for score in read_scores(path):
            if score.run_id != run.run_id:
                log.warning("%s: score for run %s ignored (not %s)", path, score.run_id, run.run_id)
                continue
            out.append(score)
    return out


def _headline(analysis: Analysis) -> SummaryRow | None:
    rows = [r for r in analysis.summary if r.widest is not None and r.widest.value is not None]
    return max(rows, key=lambda r: r.widest.value if r.widest and r.widest.value else 0.0, default=None)


def _attach_citations(views: Sequence[UttView], analysis: Analysis) -> None:
    by_anchor = {u.anchor: u for u in views}
    for block in analysis.blocks:
        for ev in block.evidence:
            if ev.href and ev.href[1:] in by_anchor:
                label = f"{ev.axis} · {ev.source} · level {fmt_level(ev.level)}"
                by_anchor[ev.href[1:]].citations.append(Citation(f"#{ev.anchor}", label))


def build_report(
    runs: list[Run],
    scores: Mapping[str, list[AxisScore]] | None = None,
    research: Mapping[str, Any] | None = None,
) -> str:
    """The HTML page for ``runs``; ``scores`` maps run id → scores (default: read from the run folders);
    ``research`` (:func:`~harness.report.research.research_of`) adds the research section."""
    if not runs:
        raise ConfigError("no runs to report on")
    multi = len(runs) > 1
    lookup = Lookup()
    for run in runs:
        lookup.merge(load_lookup(run))
    if scores is None:
        scores = {run.run_id: load_scores(run) for run in runs}
    unscored: dict[UnscoredKey, str] = {}
    triples: list[tuple[int, str, AxisScore]] = []
    for i, run in enumerate(runs):
        checked, why = mask_unverified(i, scores.get(run.run_id, []), load_notes(run))
        unscored.update(why)
        triples += [(i, run.run_id, s) for s in checked]

    delegations = list(dict.fromkeys(chain.from_iterable(r.delegations() for r in runs)))
    delegations += [d for d in dict.fromkeys(s.delegation for _, _, s in triples) if d not in delegations]
    colours = {d: i for i, d in enumerate(delegations)}
    moves = list(dict.fromkeys(chain.from_iterable(r.moves() for r in runs)))
    axes = card_axes(runs, lookup)

    anchors = Anchors(multi)
    views = [build_run_view(run, i, anchors, lookup, colours, axes) for i, run in enumerate(runs)]
    for rv, run in zip(views, runs, strict=True):
        attach_notes(rv, run)
    all_utts = [u for rv in views for u in rv.utterances()]
    hrefs = {(rv.index, u.utterance_id): f"#{u.anchor}" for rv in views for u in rv.utterances()}

    analysis = None
    plots: dict[tuple[str, str], dict[str, object]] = {}
    dist_plots: dict[tuple[str, str], object] = {}
    validations: dict[str, ValidationView] = {}
    gaps: list[GapSummary] = []
    if triples:
        scales = scales_of(lookup.rubrics)
        analysis = analyse(
            triples,
            moves=moves,
            delegations=delegations,
            axes=axes,
            scales=scales,
            utterance_href=hrefs,
            multi=multi,
            unscored=unscored,
        )
        checked = [s for _, _, s in triples]
        validations = source_validations(checked, validation_folders(runs))
        gaps = gap_summaries(checked, scales=scales, moves=moves, axes=axes, delegations=delegations)
        _attach_citations(all_utts, analysis)
        for block in analysis.blocks:
            uid = f"p-{slug(block.source)}-{slug(block.axis)}"
            title = lookup.axis_title(block.axis)
            plots[(block.source, block.axis)] = {
                "heatmap": heatmap(block, title, f"{uid}-hm", _pair_label),
                "timeline": timeline(
                    block, title, f"{uid}-tl", colours, partial(lookup.level_anchor, block.axis)
                ),
            }
        for dist in analysis.distributions:
            uid = f"p-{slug(dist.source)}-{slug(dist.axis)}-dist"
            dist_plots[(dist.source, dist.axis)] = distribution(
                dist, lookup.axis_title(dist.axis), uid, colours
            )

    scenario_ids = list(dict.fromkeys(r.manifest.scenario.id for r in runs))
    name = (
        lookup.scenario_title if len(scenario_ids) == 1 and lookup.scenario_title else ", ".join(scenario_ids)
    )
    context = {
        "page_title": name,
        "harness_version": runs[0].manifest.harness_version,
        "multi": multi,
        "runs": views,
        "delegations": [{"id": d, "name": lookup.delegation(d), "colour": colours[d]} for d in delegations],
        "colours": colours,
        "n_moves": len(moves),
        "analysis": analysis,
        "headline": _headline(analysis) if analysis else None,
        "plots": plots,
        "dist_plots": dist_plots,
        "validations": validations,
        "gaps": gaps,
        "n_boot": N_BOOT,
        "axis_title": lookup.axis_title,
        "pair_label": _pair_label,
        "research": research,
        "fmt_num": fmt_num,
        "has_notes": any(rv.notes for rv in views),
    }
    return render_page(context)


def write_report(
    run_paths: Sequence[str | Path], out: Path | None = None, *, root: str | Path | None = None
) -> Path:
    """Load runs (folders, transcripts or run ids under ``root``) and their scores; write the report."""
    if not run_paths:
        raise ConfigError("no runs to report on")
    runs = [Run.load(p, root) for p in run_paths]
    if out is None:
        if len(runs) > 1:
            raise ConfigError("a report on several runs needs -o FILE (where to write it)")
        out = runs[0].folder / REPORT_NAME
    parents = {r.folder.resolve().parent for r in runs}
    folder = runs[0].folder if len(runs) == 1 else (parents.pop() if len(parents) == 1 else None)
    html = build_report(runs, research=research_of(folder) if folder is not None else None)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("report for %d run(s) written to %s", len(runs), out)
    return out


def write_batch_report(batch_dir: Path, out: Path | None = None) -> Path | None:
    """The report of a batch folder's completed runs, with its research section (``None``: no run yet)."""
    from harness.batch.outputs import read_index

    done = [batch_dir / r["run_id"] for r in read_index(batch_dir) if r.get("status") == "completed"]
    if not done:
        return None
    return write_report(done, out or batch_dir / REPORT_NAME)
