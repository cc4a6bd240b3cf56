"""Display names for a report: scenario title, delegation names, persona labels and rubric titles.

All of it is cosmetic and best-effort: the scenario file a manifest names is read when it can be found
(relative to the working directory, as recorded at run time), and the rubrics come from the scenario's
own rubric folder or else ``evals/rubrics``. When nothing can be read the report falls back to the ids
the transcript itself holds, so a report never fails for want of a data file.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from harness.errors import HarnessError
from harness.loaders import load_rubric
from harness.schema import Rubric
from harness.transcript import Run

log = logging.getLogger(__name__)


@dataclass
class Lookup:
    """Ids → human-readable labels, with the id itself as the fallback everywhere."""

    scenario_title: str | None = None
    delegation_names: dict[str, str] = field(default_factory=dict)
    persona_names: dict[str, str] = field(default_factory=dict)
    persona_titles: dict[str, str] = field(default_factory=dict)
    rubrics: dict[str, Rubric] = field(default_factory=dict)
    axis_order: list[str] = field(default_factory=list)
    scenario_id: str | None = None

    def delegation(self, delegation_id: str | None) -> str:
        if delegation_id is None:
            return "Control"
        return self.delegation_names.get(delegation_id, delegation_id)

    def speaker(self, persona_id: str) -> str:
        return self.persona_names.get(persona_id, persona_id)

    def speaker_title(self, persona_id: str) -> str:
        return self.persona_titles.get(persona_id, "")

    def axis_title(self, axis: str) -> str:
        rubric = self.rubrics.get(axis)
        return rubric.title if rubric else axis

    def level_anchor(self, axis: str, level: int) -> str:
        rubric = self.rubrics.get(axis)
        if rubric is None:
            return ""
        return next((text for lv, text in rubric.levels.items() if lv == level), "")

    def merge(self, other: Lookup) -> None:
        """Fill gaps from another run's lookup (several runs may share or differ in scenario)."""
        self.scenario_title = self.scenario_title or other.scenario_title
        for mine, theirs in (
            (self.delegation_names, other.delegation_names),
            (self.persona_names, other.persona_names),
            (self.persona_titles, other.persona_titles),
        ):
            for k, v in theirs.items():
                mine.setdefault(k, v)
        for axis, rubric in other.rubrics.items():
            self.rubrics.setdefault(axis, rubric)
        for axis in other.axis_order:
            if axis not in self.axis_order:
                self.axis_order.append(axis)


def _default_rubric_dir() -> Path | None:
    spec = importlib.util.find_spec("evals")  # locating the package does not import it
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "rubrics"
        if folder.is_dir():
            return folder
    return None


def read_rubrics(folder: Path | None) -> dict[str, Rubric]:
    """Rubric files in ``folder`` keyed by axis; unreadable files are skipped with a warning."""
    out: dict[str, Rubric] = {}
    if folder is None or not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.yaml")):
        try:
            rubric = load_rubric(path)
        except HarnessError as exc:
            log.warning("not a rubric, ignored: %s", exc)
            continue
        out[rubric.axis] = rubric
    return out


def _scenario_path(run: Run) -> Path | None:
    recorded = Path(run.manifest.scenario.path)
    candidates = [recorded] if recorded.is_absolute() else [Path.cwd() / recorded]
    return next((p for p in candidates if p.is_file()), None)


@lru_cache(maxsize=16)
def _scenario_labels(path: str, mtime_ns: int) -> Lookup | None:
    """Labels from a scenario bundle (cached: a batch report names one scenario many times)."""
    try:
        from harness.loaders import load_bundle

        bundle = load_bundle(path)
    except HarnessError as exc:
        log.info("report: scenario %s not used for labels (%s)", path, exc)
        return None
    return Lookup(
        scenario_title=bundle.scenario.title,
        delegation_names={d.id: d.name for d in bundle.scenario.delegations},
        persona_names={pid: p.name for pid, p in bundle.personas.items()},
        persona_titles={pid: p.title for pid, p in bundle.personas.items()},
        rubrics=dict(bundle.rubrics),
        axis_order=list(bundle.scenario.axes),
        scenario_id=bundle.scenario.id,
    )


def load_lookup(run: Run) -> Lookup:
    """Labels for ``run`` from its scenario bundle when readable, else from ``evals/rubrics`` only."""
    lookup = Lookup()
    path = _scenario_path(run)
    if path is not None:
        labels = _scenario_labels(str(path.resolve()), path.stat().st_mtime_ns)
        if labels is not None and labels.scenario_id == run.manifest.scenario.id:
            lookup.merge(labels)
    if not lookup.rubrics:
        lookup.rubrics = read_rubrics(_default_rubric_dir())
    return lookup
