"""Page rendering: Jinja2 templates from ``templates/`` with autoescape on for every file (all text from a
transcript, a scenario or a person is escaped), strict undefined variables, and the one error page."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse, JSONResponse, Response

import harness

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""Pages load only the room's own script and stylesheet; no inline script runs."""


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its file name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["harness_version"] = harness.__version__
    return env


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)


def error_response(status: int, message: str, path: str) -> Response:
    """A clear message, never a traceback: JSON ``{"error": …}`` for the API, a small page otherwise."""
    if path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return render("error.html.j2", status_code=status, status=status, message=message)
