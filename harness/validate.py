"""``harness validate``: check data files one by one, then every scenario's cross-references.

Besides personas, scenarios and rubrics it knows experiment files (``experiments/`` or an
``experiment.schema.json`` header) and rules codebooks (``codebook.yaml`` or a ``codebook.schema.json``
header), so a whole workspace (``harness init``) validates in one command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from harness import datapaths
from harness.errors import DataError, HarnessError
from harness.loaders import (
    check_references,
    detect_kind,
    load_persona,
    load_rubric,
    load_scenario,
)
from harness.schema import DATA_MODELS, Persona, Rubric, Scenario

FILE_KINDS = ("persona", "scenario", "rubric", "experiment", "codebook")


def file_models() -> dict[str, type[BaseModel]]:
    """Every kind of data file a user edits, with the model its JSON Schema is made from."""
    from evals.scorers.rules import CodebookSpec
    from harness.batch.spec import Experiment

    return {**DATA_MODELS, "experiment": Experiment, "codebook": CodebookSpec}


def file_kind(path: Path) -> str | None:
    kind = detect_kind(path, FILE_KINDS)
    if kind is not None:
        return kind
    if path.name in ("codebook.yaml", "codebook.yml"):
        return "codebook"
    if "experiments" in {p.name for p in path.parents}:
        return "experiment"
    return None


def _check_other(kind: str, path: Path) -> None:
    if kind == "experiment":
        from harness.batch.spec import load_experiment

        load_experiment(path)
    else:
        from evals.scorers.rules import load_codebook

        load_codebook(path)


@dataclass
class ValidationReport:
    checked: dict[str, list[Path]] = field(default_factory=dict)
    errors: list[DataError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _expand(paths: list[Path], report: ValidationReport) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted([*p.rglob("*.yaml"), *p.rglob("*.yml")])
            if not found:
                report.errors.append(DataError(str(p), "no YAML files in this folder"))
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            report.errors.append(DataError(str(p), "no such file or folder"))
    unique: dict[Path, Path] = {}  # a file named twice (a folder and a file in it) is checked once
    for f in files:
        unique.setdefault(f.resolve(), f)
    return list(unique.values())


def validate_paths(paths: list[Path]) -> ValidationReport:
    report = ValidationReport()
    personas: dict[str, Persona] = {}
    rubrics: dict[str, Rubric] = {}
    scenarios: list[tuple[Path, Scenario]] = []
    attempted: set[Path] = set()  # resolved paths already loaded (or reported): never twice
    broken: dict[str, set[str]] = {"persona": set(), "rubric": set()}  # ids whose files failed to load
    for f in _expand(paths, report):
        attempted.add(f.resolve())
        kind = file_kind(f)
        if kind is None:
            report.errors.append(
                DataError(
                    str(f),
                    "cannot tell what this file is: give it a '# yaml-language-server: $schema=' "
                    "header or put it under personas/, scenarios/, rubrics/ or experiments/",
                )
            )
            continue
        try:
            if kind == "persona":
                persona = load_persona(f)
                personas[persona.id] = persona
            elif kind == "rubric":
                rubric = load_rubric(f)
                rubrics[rubric.axis] = rubric
            elif kind == "scenario":
                scenarios.append((f, load_scenario(f)))
            else:
                _check_other(kind, f)
            report.checked.setdefault(kind, []).append(f)
        except DataError as exc:
            report.errors.append(exc)
            if kind in broken:
                broken[kind].add(f.stem)
    for path, scenario in scenarios:
        try:
            search = datapaths.resolve(path, scenario)
        except HarnessError as exc:
            report.errors.append(DataError(str(path), str(exc)))
            continue
        known_p = dict(personas)
        known_r = dict(rubrics)
        for pid in scenario.persona_ids():
            pf = search.personas.find(pid)
            if pid not in known_p and pid not in broken["persona"] and pf is not None:
                try:
                    known_p[pid] = load_persona(pf)
                except DataError as exc:
                    if pf.resolve() not in attempted:
                        report.errors.append(exc)
                    attempted.add(pf.resolve())
                    broken["persona"].add(pid)
        for axis in scenario.axes:
            rf = search.rubrics.find(axis)
            if axis not in known_r and axis not in broken["rubric"] and rf is not None:
                try:
                    known_r[axis] = load_rubric(rf)
                except DataError as exc:
                    if rf.resolve() not in attempted:
                        report.errors.append(exc)
                    attempted.add(rf.resolve())
                    broken["rubric"].add(axis)
        report.errors.extend(
            check_references(
                scenario,
                path,
                known_p,
                known_r,
                unreadable_personas=broken["persona"],
                unreadable_rubrics=broken["rubric"],
            )
        )
    return report
