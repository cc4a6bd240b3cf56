"""Prompt templates: files in ``prompts/`` rendered with Jinja2 and strict undefined variables.

A template is ``prompts/<name>.md``. Rendering a variable the caller did not pass is an error
(:class:`~harness.errors.TemplateError`), never a silent blank. ``hashes()`` gives the sha256 of each
template for the run manifest.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from harness.errors import TemplateError

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "prompts"


class Prompts:
    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder else DEFAULT_DIR
        if not self.folder.is_dir():
            raise TemplateError(f"{self.folder}: prompt folder not found")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.folder)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.md"))

    def render(self, name: str, **variables: Any) -> str:
        try:
            template = self.env.get_template(f"{name}.md")
            return template.render(**variables).strip()
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{self.folder / (name + '.md')}: prompt template not found") from exc
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{self.folder / (name + '.md')}: {exc.message}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"{exc.filename or name}:{exc.lineno}: template syntax: {exc.message}"
            ) from exc

    def hashes(self) -> dict[str, str]:
        return {p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(self.folder.glob("*.md"))}


@lru_cache(maxsize=8)
def default_prompts(folder: str | None = None) -> Prompts:
    return Prompts(folder)
