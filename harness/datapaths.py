"""Where a scenario's personas, rubrics and prompts come from: one search path per kind.

For each kind (``personas``, ``rubrics``, ``prompts``) the folders are searched in this order, and a file
is taken from the first folder that has it (``<id>.yaml`` for a persona, ``<axis>.yaml`` for a rubric,
``<name>.md`` for a prompt template), so a workspace may override one file and inherit the rest:

1. a folder given explicitly (``--personas``/``--rubrics``/``--prompts``, an experiment file, a resumed
   run's manifest);
2. the folder the scenario names itself (``data: {personas: …}``, relative to the scenario file);
3. the ``[data]`` table of the workspace's ``harness.toml`` (relative to that file): the one beside the
   scenario, or one level up when the scenario sits in a ``scenarios/`` folder, else the working
   directory's;
4. the conventional folders beside the scenario: ``<kind>/`` next to it and, when the scenario sits in a
   ``scenarios/`` folder, ``<kind>/`` next to that folder (for rubrics also ``evals/rubrics/``, the layout
   of this repository);
5. the bundled defaults (:mod:`harness.resources`).

The run manifest records the search path (``data_paths``, the bundled defaults as ``<bundled>``) and the
hash of every file used, so a resumed or forked run reads the same folders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError
from harness.resources import BUNDLED, bundled, bundled_codebook
from harness.schema import Scenario
from harness.tomlconf import TOML_NAME, read_table

log = logging.getLogger(__name__)

DATA_KINDS = ("personas", "rubrics", "prompts")
SUFFIX = {"personas": ".yaml", "rubrics": ".yaml", "prompts": ".md"}
TOML_KEYS = frozenset({*DATA_KINDS, "codebook"})


@dataclass(frozen=True)
class SearchPath:
    """Folders of one kind, searched first to last (the bundled defaults are always the last)."""

    kind: str
    folders: tuple[Path, ...]

    def find(self, name: str) -> Path | None:
        for folder in self.folders:
            candidate = folder / f"{name}{SUFFIX[self.kind]}"
            if candidate.is_file():
                return candidate
        return None

    def recorded(self) -> list[str]:
        default = bundled(self.kind).resolve()
        return [BUNDLED if f.resolve() == default else str(f) for f in self.folders]


@dataclass(frozen=True)
class DataPaths:
    personas: SearchPath
    rubrics: SearchPath
    prompts: SearchPath

    def of(self, kind: str) -> SearchPath:
        path: SearchPath = getattr(self, kind)
        return path

    def recorded(self) -> dict[str, list[str]]:
        return {kind: self.of(kind).recorded() for kind in DATA_KINDS}


def _unique(folders: Iterable[Path]) -> tuple[Path, ...]:
    seen: dict[Path, Path] = {}
    for f in folders:
        seen.setdefault(f.resolve(), f)
    return tuple(seen.values())


def _search_path(kind: str, folders: Iterable[Path | None]) -> SearchPath:
    found = [f for f in folders if f is not None and f.is_dir()]
    return SearchPath(kind, _unique([*(f.resolve() for f in found), bundled(kind).resolve()]))


def workspace_toml(scenario_path: Path, cwd: Path | None = None) -> Path | None:
    """The ``harness.toml`` that governs a scenario: beside it, above its ``scenarios/`` folder, or cwd."""
    here = scenario_path.resolve().parent
    candidates = [here / TOML_NAME]
    if here.name == "scenarios":
        candidates.append(here.parent / TOML_NAME)
    candidates.append((cwd or Path.cwd()) / TOML_NAME)
    return next((c for c in candidates if c.is_file()), None)


def data_table(toml: Path | None) -> dict[str, Path]:
    """``[data]`` of a harness.toml as absolute paths (relative ones are relative to the file)."""
    if toml is None:
        return {}
    table = read_table(toml, "data")
    unknown = sorted(set(table) - TOML_KEYS)
    if unknown:
        raise ConfigError(
            f"{toml}: [data] has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(TOML_KEYS))}"
        )
    out: dict[str, Path] = {}
    for key, value in table.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{toml}: [data] {key} must be a path (a non-empty string)")
        path = Path(value).expanduser()
        out[key] = path if path.is_absolute() else (toml.parent / path)
        if key in DATA_KINDS and not out[key].is_dir():
            raise ConfigError(f"{toml}: [data] {key}: folder {out[key]} not found")
        if key == "codebook" and not out[key].is_file():
            raise ConfigError(f"{toml}: [data] codebook: file {out[key]} not found")
    return out


def _beside(kind: str, scenario_path: Path) -> list[Path]:
    here = scenario_path.resolve().parent
    out = [here / kind]
    if here.name == "scenarios":
        out.append(here.parent / kind)
        if kind == "rubrics":
            out.append(here.parent / "evals" / "rubrics")
    return out


def resolve(
    scenario_path: Path,
    scenario: Scenario | None = None,
    *,
    explicit: Mapping[str, Path | None] | None = None,
    cwd: Path | None = None,
) -> DataPaths:
    """The search paths of a scenario (see the module doc for the order)."""
    explicit = explicit or {}
    for kind, folder in explicit.items():
        if folder is not None and not Path(folder).is_dir():
            raise ConfigError(f"--{kind} {folder}: folder not found")
    own = scenario.data if scenario is not None else None
    base = scenario_path.resolve().parent
    table = data_table(workspace_toml(scenario_path, cwd))
    paths: dict[str, SearchPath] = {}
    for kind in DATA_KINDS:
        named = getattr(own, kind, None) if own is not None else None
        if named is not None and not (base / named).is_dir():
            raise ConfigError(f"{scenario_path}: data.{kind}: folder {base / named} not found")
        given = explicit.get(kind)
        folders = [
            Path(given) if given is not None else None,
            base / named if named is not None else None,
            table.get(kind),
            *_beside(kind, scenario_path),
        ]
        paths[kind] = _search_path(kind, folders)
    return DataPaths(paths["personas"], paths["rubrics"], paths["prompts"])


def from_recorded(recorded: Mapping[str, list[str]]) -> DataPaths:
    """The search paths a manifest recorded (a folder that is gone is skipped, with a warning)."""
    paths: dict[str, SearchPath] = {}
    for kind in DATA_KINDS:
        folders: list[Path] = []
        for entry in recorded.get(kind, []):
            folder = bundled(kind) if entry == BUNDLED else Path(entry)
            if not folder.is_dir():
                log.warning("%s folder %s recorded by the run is gone; using the others", kind, folder)
                continue
            folders.append(folder)
        paths[kind] = _search_path(kind, folders)
    return DataPaths(paths["personas"], paths["rubrics"], paths["prompts"])


def codebook_path(explicit: Path | None = None, scenario_path: Path | None = None) -> Path:
    """The rules codebook: ``explicit``, else the workspace's ``[data] codebook``, else the bundled one."""
    if explicit is not None:
        return explicit
    toml = workspace_toml(scenario_path) if scenario_path is not None else workspace_toml(Path.cwd() / "x")
    return data_table(toml).get("codebook") or bundled_codebook()
