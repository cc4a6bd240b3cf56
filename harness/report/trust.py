"""What the report says about how far each scorer's numbers can be trusted.

* **Validation**: each source (scorer, judge model, calibration) carries its saved agreement with a gold
  set (:mod:`evals.validation_store`), looked up first beside the run's data — the run folder's
  ``validation/``, the one beside the run folder, ``validation/`` beside each rubric folder the run used —
  then in the package. None found: the report says "not validated".
* **Unverified evidence**: a judge unit none of whose samples could back its level with a verbatim quote
  (or gave a valid reply), by the judge notes (``scores/<scorer>.notes.jsonl``), is unscored, with the
  reason, whatever level the score file holds (:func:`evals.scorers.judge_notes.apply_notes`); the
  heatmaps hatch it apart from "not addressed" and each axis panel lists it.
* **Stated vs revealed**: the gap between the position cards and each judge model
  (:mod:`evals.metrics.gap`), computed there; the report only lays it out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evals import validation_store
from evals.metrics import source_label
from evals.scorers.judge_notes import JudgeNote, apply_notes, read_notes
from evals.scores_io import NOTES_SUFFIX
from evals.validation_store import ValidationRecord, find_validation
from harness import datapaths
from harness.errors import DataError
from harness.schema import AxisScore
from harness.transcript import Run

log = logging.getLogger(__name__)

UnscoredKey = tuple[int, str, str, str, str]
"""(run index, move, delegation, axis, source)."""


def load_notes(run: Run) -> dict[str, list[JudgeNote]]:
    """``scores/<scorer>.notes.jsonl`` of a run folder, by scorer. A notes file that cannot be read is
    skipped with a warning: the judge never gives a level without verified evidence, so only the reasons
    shown for its unscored units are lost."""
    folder = run.folder / "scores"
    out: dict[str, list[JudgeNote]] = {}
    for path in sorted(folder.glob(f"*{NOTES_SUFFIX}")) if folder.is_dir() else []:
        try:
            notes = read_notes(path)
        except DataError as exc:
            log.warning("report: judge notes not used (%s)", exc)
            continue
        out[path.name.removesuffix(NOTES_SUFFIX)] = [n for n in notes if n.run_id == run.run_id]
    return out


def mask_unverified(
    run_index: int, scores: Sequence[AxisScore], notes: Mapping[str, Sequence[JudgeNote]]
) -> tuple[list[AxisScore], dict[UnscoredKey, str]]:
    """One run's scores with units whose notes show no valid sample unscored, and why (by unit and source)."""
    out: list[AxisScore] = []
    reasons: dict[UnscoredKey, str] = {}
    for scorer in dict.fromkeys(s.scorer for s in scores):
        mine = [s for s in scores if s.scorer == scorer]
        masked, why = apply_notes(mine, notes.get(scorer, []))
        out += masked
        for ((_, move, deleg, axis), model), unscored in why.items():
            reasons[(run_index, move, deleg, axis, source_label(scorer, model))] = unscored.reason
    return out, reasons


def validation_folders(runs: Iterable[Run]) -> list[Path]:
    """Where saved validations are looked for, first to last (see the module doc)."""
    folders: list[Path] = []
    for run in runs:
        folders += [run.folder / "validation", run.folder.parent / "validation"]
        rubric_dirs = datapaths.from_recorded(run.manifest.data_paths).rubrics.folders
        folders += [d.resolve().parent / "validation" for d in rubric_dirs]
    folders.append(validation_store.package_dir())
    return list(dict.fromkeys(f.resolve() for f in folders))


@dataclass(frozen=True)
class ValidationView:
    source: str
    record: ValidationRecord | None
    path: Path | None

    @property
    def figures(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the badge: alpha, kappa, exact, coverage, NA accuracy."""
        r = self.record
        if r is None:
            return []
        pairs = [
            ("α", r.alpha),
            ("κ", r.kappa),
            ("exact", r.exact_accuracy),
            ("coverage", r.coverage),
            ("NA acc", r.na_accuracy),
        ]
        return [(label, "–" if v is None else f"{v:.2f}") for label, v in pairs]

    @property
    def summary(self) -> str:
        r = self.record
        if r is None:
            return "not validated"
        figures = " · ".join(f"{label} {value}" for label, value in self.figures)
        return f"{figures} on {r.gold_name} {r.split} (n={r.n})"

    @property
    def detail(self) -> str:
        r = self.record
        if r is None:
            return (
                f"No saved validation for {self.source}: run `harness validate-scorer --gold FILE "
                "--scorer … --save` to add one."
            )
        calibrated = f", calibration {r.calibration}" if r.calibration else ""
        return (
            f"Agreement with the gold labels of {r.gold} ({r.gold_name}, split {r.split}, "
            f"n={r.n}{calibrated}); validated {r.date[:10]} with harness {r.harness_version}; "
            f"from {self.path}."
        )


def source_validations(scores: Iterable[AxisScore], folders: Sequence[Path]) -> dict[str, ValidationView]:
    """Each source's validation view (a source whose scores name a calibration needs a calibrated record)."""
    sources: dict[str, tuple[str, str | None, str | None]] = {}
    for s in scores:
        label = source_label(s.scorer, s.model)
        known = sources.get(label)
        if known is None or (known[2] is None and s.calibration is not None):
            sources[label] = (s.scorer, s.model, s.calibration)
    out: dict[str, ValidationView] = {}
    for label, (scorer, model, calibration) in sources.items():
        found = find_validation(scorer, model, calibration, folders)
        out[label] = ValidationView(label, *found) if found else ValidationView(label, None, None)
    return out
