"""Display names for a report: scenario title, delegation names, persona labels and rubric titles.

All of it is best-effort: the scenario bundle a run used is read back through :mod:`harness.recorded`
(the scenario file and the persona and rubric folders its manifest names), and the rubrics — which also
give each axis its level scale — come from there, else from the bundled defaults. When nothing can be
read the report falls back to the ids the transcript itself holds, so a report never fails for want of a
data file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from harness.errors import HarnessError
from harness.recorded import bundle_of, rubrics_of
from harness.schema import ManifestEvent, Rubric
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


_CACHE: dict[str, Lookup | None] = {}


def _labels(manifest: ManifestEvent) -> Lookup | None:
    """Labels from the scenario bundle a run used (cached: a batch report names one scenario many times)."""
    key = json.dumps(
        [manifest.scenario.model_dump(), manifest.data_paths, manifest.options], sort_keys=True, default=str
    )
    if key not in _CACHE:
        if len(_CACHE) >= 64:  # a long-lived process (the web room) reads files anew now and then
            _CACHE.clear()
        _CACHE[key] = _read_labels(manifest)
    return _CACHE[key]


def _read_labels(manifest: ManifestEvent) -> Lookup | None:
    try:
        bundle = bundle_of(manifest)
    except HarnessError as exc:
        log.info("report: scenario of %s not used for labels (%s)", manifest.run_id, exc)
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
    """Labels for ``run`` from its scenario bundle when readable, else the rubrics the run can find."""
    lookup = Lookup()
    if run.manifest.source == "simulation":
        labels = _labels(run.manifest)
        if labels is not None and labels.scenario_id == run.manifest.scenario.id:
            lookup.merge(labels)
    if not lookup.rubrics:
        try:
            lookup.rubrics = rubrics_of(run.manifest)
        except HarnessError as exc:
            log.warning("report: no rubrics for %s (%s); axes are shown by id", run.run_id, exc)
    return lookup
