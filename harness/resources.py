"""The data that ships inside the package, found through :mod:`importlib.resources`.

``harness/data/`` holds the defaults every run falls back on: ``scenarios/`` (the two shipped scenarios),
``personas/``, ``rubrics/``, ``prompts/``, ``codebook.yaml`` (the ``rules`` scorer's), ``schemas/`` (the
JSON Schemas of the data files) and ``experiments/`` (an example batch). In the repository these are links
to the top-level folders a contributor edits (``personas/``, ``scenarios/``, ``prompts/``, ``schemas/``,
``experiments/``, ``evals/rubrics/``, ``evals/codebook.yaml``); a wheel carries copies of the files.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from harness.errors import ConfigError

BUNDLED = "<bundled>"
"""How a manifest names the bundled defaults in a search path (their location differs per install)."""

KINDS = ("scenarios", "personas", "rubrics", "prompts", "schemas", "experiments")


@lru_cache(maxsize=1)
def data_root() -> Path:
    """``harness/data`` of the installed package (a real folder: the harness is not run from a zip)."""
    root = Path(str(files("harness") / "data"))
    if not (root / "scenarios").is_dir():
        raise ConfigError(f"{root}: the bundled data is missing; reinstall the package")
    return root


def bundled(kind: str) -> Path:
    """The bundled folder of ``kind`` (one of :data:`KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of bundled data {kind!r}")
    return data_root() / kind


def bundled_codebook() -> Path:
    return data_root() / "codebook.yaml"


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario id (its file name) → path, sorted by id."""
    folder = bundled("scenarios")
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def find_scenario(ref: str | Path) -> Path:
    """A scenario file: ``ref`` itself when it names a file, else the bundled scenario of that id."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    shipped = bundled_scenarios()
    if str(ref) in shipped:
        return shipped[str(ref)]
    if path.exists():
        raise ConfigError(f"{ref}: is a folder, expected a scenario file")
    raise ConfigError(
        f"{ref}: no such scenario file, nor a bundled scenario id (bundled: {', '.join(shipped)}; "
        "`harness scenarios` lists them)"
    )
