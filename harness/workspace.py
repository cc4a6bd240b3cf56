"""``harness init DIR``: an editable workspace with copies of the bundled data.

::

    DIR/
      harness.toml        [data] names the folders below (and [backend], commented out)
      scenarios/          the bundled scenarios          personas/   their personas
      rubrics/            one rubric per axis            prompts/    the prompt templates
      codebook.yaml       the rules scorer's codebook    schemas/    JSON Schemas for editors
      experiments/        an example batch
      README.md

Every YAML file's ``$schema`` header points at ``schemas/`` inside the workspace, so an editor checks
the files offline. A scenario in ``scenarios/`` finds the workspace's personas, rubrics and prompts
first and falls back on the bundled defaults for anything the workspace does not have.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError
from harness.loaders import SCHEMA_HEADER
from harness.resources import bundled, bundled_codebook
from harness.tomlconf import TOML_NAME

log = logging.getLogger(__name__)

FOLDERS = {  # workspace folder -> (bundled kind, schema kind of its YAML files or None)
    "scenarios": ("scenarios", "scenario"),
    "personas": ("personas", "persona"),
    "rubrics": ("rubrics", "rubric"),
    "prompts": ("prompts", None),
    "schemas": ("schemas", None),
    "experiments": ("experiments", "experiment"),
}

TOML_TEXT = """\
# This workspace's settings. Paths are relative to this file.

# [backend]                # the model every `harness run` uses unless flags or the environment say
# profile = "ollama"       # otherwise (`harness backends` lists the profiles)
# model = "llama3.1:8b"

[data]
# Searched before the bundled defaults: a file found here wins, anything missing comes from the
# package (a rubric for a new axis, one changed prompt template, a persona of your own…).
personas = "personas"
rubrics = "rubrics"
prompts = "prompts"
codebook = "codebook.yaml"
"""

README_TEXT = """\
# Workspace

Made by `harness init`: copies of the harness's bundled data, to edit.

```sh
harness validate .                          # every file here, and each scenario's references
harness run scenarios/smoke.yaml            # uses this workspace's personas, rubrics and prompts
harness score transcripts/RUN --scorer rules
harness batch experiments/example.yaml --dry-run
```

A scenario here looks up personas, rubrics and prompts in this workspace first (see `harness.toml`),
then in the bundled defaults. To add an axis, write `rubrics/<axis>.yaml` and list the axis in the
scenario's `axes:`. Each run's manifest records which files it used, by hash.
"""


@dataclass
class InitResult:
    root: Path
    written: list[Path] = field(default_factory=list)


def _with_header(text: str, schema_kind: str | None, up: str = "../") -> str:
    """The file's text with its ``$schema`` header pointing at the workspace's ``schemas/``."""
    if schema_kind is None:
        return text
    header = f"{SCHEMA_HEADER}{up}schemas/{schema_kind}.schema.json"
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith(SCHEMA_HEADER):
        return header + "\n" + "".join(lines[1:])
    return header + "\n" + text


def init_workspace(root: Path, *, force: bool = False) -> InitResult:
    """Write the workspace into ``root`` (which must be empty or absent unless ``force``)."""
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not force:
        raise ConfigError(f"{root}: folder is not empty (use --force to write into it anyway)")
    result = InitResult(root)
    for folder, (kind, schema_kind) in FOLDERS.items():
        source = bundled(kind)
        target = root / folder
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted(source.iterdir()):
            if not f.is_file():
                continue
            text = f.read_text(encoding="utf-8")
            if f.suffix in (".yaml", ".yml"):
                text = _with_header(text, schema_kind)
            result.written.append(_write(target / f.name, text, force))
    codebook = _with_header(bundled_codebook().read_text("utf-8"), "codebook", up="")
    result.written.append(_write(root / "codebook.yaml", codebook, force))
    result.written.append(_write(root / TOML_NAME, TOML_TEXT, force))
    result.written.append(_write(root / "README.md", README_TEXT, force))
    log.info("workspace written to %s (%d files)", root, len(result.written))
    return result


def _write(path: Path, text: str, force: bool) -> Path:
    if path.exists() and not force:
        raise ConfigError(f"{path}: exists (use --force to overwrite)")
    path.write_text(text, encoding="utf-8")
    return path
