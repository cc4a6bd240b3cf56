"""Prompt templates: ``<name>.md`` files rendered with Jinja2 and strict undefined variables.

Templates are looked up along a search path (first folder first, see :mod:`harness.datapaths`), so a
workspace can override one template and inherit the rest from the bundled defaults. Rendering a
variable the caller did not pass is an error (:class:`~harness.errors.TemplateError`), never a silent
blank. ``hashes()`` gives the sha256 of each template in effect, for the run manifest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from harness.errors import TemplateError
from harness.resources import bundled

_BLANK_RUNS = re.compile(r"\n{3,}")


@lru_cache(maxsize=32)
def _environment(folders: tuple[str, ...]) -> jinja2.Environment:
    """One Jinja environment per search path, shared by every run of the process: a template is
    compiled once, not once per run (the loader still notices an edited file by its mtime)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(folders)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Prompts:
    def __init__(self, folders: str | Path | Sequence[str | Path] | None = None) -> None:
        if folders is None:
            folders = [bundled("prompts")]
        elif isinstance(folders, str | Path):
            folders = [folders]
        self.folders = [Path(f) for f in folders]
        for folder in self.folders:
            if not folder.is_dir():
                raise TemplateError(f"{folder}: prompt folder not found")
        self.env = _environment(tuple(str(f) for f in self.folders))

    @property
    def folder(self) -> Path:
        """The first folder searched (where a template of the run's own would be)."""
        return self.folders[0]

    def files(self) -> dict[str, Path]:
        """Template name → the file in effect (the first folder that has it)."""
        found: dict[str, Path] = {}
        for folder in self.folders:
            for p in sorted(folder.glob("*.md")):
                found.setdefault(p.stem, p)
        return dict(sorted(found.items()))

    def names(self) -> list[str]:
        return list(self.files())

    def render(self, name: str, **variables: Any) -> str:
        try:
            template = self.env.get_template(f"{name}.md")
            # an empty optional block (``{% if plenary %}``…) leaves no run of blank lines behind
            return _BLANK_RUNS.sub("\n\n", template.render(**variables)).strip()
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{self.folder / (name + '.md')}: prompt template not found") from exc
        except jinja2.UndefinedError as exc:
            where = self.files().get(name, self.folder / f"{name}.md")
            raise TemplateError(f"{where}: {exc.message}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"{exc.filename or name}:{exc.lineno}: template syntax: {exc.message}"
            ) from exc

    def hashes(self) -> dict[str, str]:
        return {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in self.files().items()}


@lru_cache(maxsize=8)
def default_prompts(folder: str | None = None) -> Prompts:
    return Prompts(folder)
