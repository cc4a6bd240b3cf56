"""``harness backends`` and ``harness doctor``: what backends exist, and whether the active one works."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError
from harness.llm.profiles import PROFILES

if TYPE_CHECKING:
    from harness.llm.base import Reply
    from harness.llm.config import BackendConfig

console = Console()

BackendOpt = Annotated[
    str | None, typer.Option("--backend", help="Backend profile (see `harness backends`).")
]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", help="OpenAI-compatible base URL, e.g. http://host:8000/v1.")
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model name the endpoint serves.")]

DOCTOR_SYSTEM = "You are a concise assistant. Follow the instructions exactly."
DOCTOR_PLAIN = "Reply with one short sentence saying that you are ready."
DOCTOR_STRUCTURED = "Report your status as a JSON object: status is ready, and give a one-word note."


class DoctorFailed(HarnessError):
    """Structured output did not hold on the active backend."""


def backends_command() -> None:
    """List the backend profiles and the active one (given the environment and harness.toml)."""
    from harness.llm.config import resolve_backend

    active: BackendConfig | None = None
    problem = ""
    try:
        active = resolve_backend()
    except HarnessError as exc:
        problem = str(exc)
    table = Table(title="Backend profiles")
    for column in (
        "",
        "profile",
        "default base URL",
        "key variable",
        "structured output",
        "capabilities",
        "model",
    ):
        table.add_column(column, overflow="fold")
    for profile in PROFILES.values():
        if profile.key_var is None:
            key = "none"
        else:
            key = f"{profile.key_var} ({'set' if os.environ.get(profile.key_var) else 'not set'})"
        caps = [name for name, on in (("seed", profile.seed), ("logprobs", profile.logprobs)) if on]
        table.add_row(
            "*" if active is not None and active.profile == profile.name else "",
            profile.name,
            profile.base_url
            or ("started by the harness" if profile.name == "embedded" else "--base-url required"),
            key,
            profile.dialect,
            ", ".join(caps) or "-",
            profile.default_model or "--model required",
        )
    console.print(table)
    if active is not None:
        where = active.base_url or "a local server started on demand"
        console.print(
            f"active: [bold]{active.profile}[/bold], model {active.model} at {where}", highlight=False
        )
    else:
        console.print(f"[yellow]active backend not usable:[/yellow] {problem}", highlight=False)


def _usage_line(reply: Reply[Any]) -> str:
    u = reply.usage
    return f"{u.latency_ms:.0f} ms, {u.prompt_tokens} prompt + {u.completion_tokens} completion tokens"


def doctor_command(
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Embedded server log (default: a temp file).")
    ] = None,
) -> None:
    """Make one tiny plain call and one structured call on the active backend and report."""
    from pydantic import BaseModel

    from harness.llm.base import InvalidReply
    from harness.llm.client import build_chat_model
    from harness.llm.config import resolve_backend

    class DoctorStatus(BaseModel):  # here, not at module level: pydantic stays out of `harness --help`
        status: Literal["ready", "not_ready"]
        note: str

    config = resolve_backend(backend, base_url, model)
    if config.profile == "embedded" and log_file is None:
        log_file = Path(tempfile.gettempdir()) / "harness-doctor-server.log"
    console.print(f"backend [bold]{config.profile}[/bold] (dialect {config.dialect}) …", highlight=False)
    with build_chat_model(config, log_file=log_file) as chat:
        messages = [{"role": "system", "content": DOCTOR_SYSTEM}, {"role": "user", "content": DOCTOR_PLAIN}]
        plain = chat.complete(messages, temperature=0.0, seed=0, max_tokens=32)
        table = Table(show_header=False)
        table.add_row("backend", chat.backend)
        table.add_row("model", plain.model)
        table.add_row("base URL", chat.base_url)
        table.add_row("plain call", _usage_line(plain))
        table.add_row("plain reply", " ".join(plain.text.split())[:120] or "(empty)")
        held = True
        messages = [
            {"role": "system", "content": DOCTOR_SYSTEM},
            {"role": "user", "content": DOCTOR_STRUCTURED},
        ]
        try:
            structured = chat.complete(
                messages, response_model=DoctorStatus, temperature=0.0, seed=0, max_tokens=64
            )
            table.add_row("structured call", _usage_line(structured))
            table.add_row(
                "structured output",
                f"[green]held[/green] after {structured.attempts} attempt(s): "
                + structured.text.strip()[:120],
            )
        except InvalidReply as exc:
            held = False
            table.add_row("structured output", f"[red]did not hold[/red]: {exc}")
        console.print(table)
    if not held:
        raise DoctorFailed(f"backend {config.profile} ({config.model}): structured output did not hold")


def register(app: typer.Typer) -> None:
    app.command("backends")(backends_command)
    app.command("doctor")(doctor_command)
