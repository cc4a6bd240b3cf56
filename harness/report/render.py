"""Jinja2 rendering of the report page: autoescape on for every template, strict undefined variables.

The stylesheet and the script are templates too (``*.j2``, so they ship as package data) and are inlined
into the one HTML file. The page's Content-Security-Policy allows no network access at all and only the
one inline script, by its hash: even a markup bug could not load or run anything else.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from harness.report.svg import fmt_level, heat_colour, heat_text_colour

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its file name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals.update(fmt_level=fmt_level, heat_colour=heat_colour, heat_text_colour=heat_text_colour)
    return env


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def render_page(context: dict[str, Any]) -> str:
    """Render ``report.html.j2`` with ``context`` plus the inlined stylesheet and script."""
    env = environment()
    css = env.get_template("style.css.j2").render()
    script = env.get_template("script.js.j2").render()
    return env.get_template("report.html.j2").render(
        **context, css=Markup(css), script=Markup(script), script_hash=script_hash(script)
    )
