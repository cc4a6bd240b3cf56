"""``harness validate``: check data files one by one, then every scenario's cross-references."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import DataError
from harness.loaders import (
    check_references,
    default_dirs,
    detect_kind,
    load_persona,
    load_rubric,
    load_scenario,
)
from harness.schema import Persona, Rubric, Scenario


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
        kind = detect_kind(f)
        if kind is None:
            report.errors.append(
                DataError(
                    str(f),
                    "cannot tell what this file is: give it a '# yaml-language-server: $schema=' "
                    "header or put it under personas/, scenarios/ or rubrics/",
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
            else:
                scenarios.append((f, load_scenario(f)))
            report.checked.setdefault(kind, []).append(f)
        except DataError as exc:
            report.errors.append(exc)
            if kind in broken:
                broken[kind].add(f.stem)
    for path, scenario in scenarios:
        p_dir, r_dir = default_dirs(path)
        known_p = dict(personas)
        known_r = dict(rubrics)
        for pid in scenario.persona_ids():
            f = p_dir / f"{pid}.yaml"
            if pid not in known_p and pid not in broken["persona"] and f.exists():
                try:
                    known_p[pid] = load_persona(f)
                except DataError as exc:
                    if f.resolve() not in attempted:
                        report.errors.append(exc)
                    attempted.add(f.resolve())
                    broken["persona"].add(pid)
        for axis in scenario.axes:
            f = r_dir / f"{axis}.yaml"
            if axis not in known_r and axis not in broken["rubric"] and f.exists():
                try:
                    known_r[axis] = load_rubric(f)
                except DataError as exc:
                    if f.resolve() not in attempted:
                        report.errors.append(exc)
                    attempted.add(f.resolve())
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
