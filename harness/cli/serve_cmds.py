"""``harness serve``: the trainers' web room (FastAPI is imported only when the command runs)."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from harness.errors import ConfigError

console = Console()
err_console = Console(stderr=True)

LOOPBACK_NAMES = ("localhost",)

SERVE_HELP = "\n\n".join(
    (
        "Serve the trainers' web room: follow runs live, take a delegation's seat in the browser, "
        "annotate a debate.",
        "Loopback by default: the room binds 127.0.0.1, so only this machine can reach it, and it answers "
        "only requests addressed to a loopback host.",
        "Other machines: binding any other --host needs --allow-remote and prints a warning; then a token "
        "is required on every request. Pass --token (or HARNESS_WEB_TOKEN) or let the room generate one "
        "and print it. Open the printed link (http://HOST:PORT/?token=…) once per browser: it sets a "
        "cookie and drops the token from the address; scripts send the X-Harness-Token header. Traffic is "
        "plain HTTP: across a network, put the room behind a TLS proxy.",
    )
)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (default loopback: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8765,
    out: Annotated[
        Path, typer.Option("--out", help="Root folder of run folders (and its samples/ sub-folder).")
    ] = Path("transcripts"),
    scenarios: Annotated[
        Path | None,
        typer.Option(
            "--scenarios",
            help="Folder of scenario files runs can be started from, besides the bundled ones "
            "(default: ./scenarios when there is one).",
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote", help="Allow a non-loopback --host; every request then needs the token."
        ),
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="HARNESS_WEB_TOKEN",
            show_envvar=True,
            help="Token required on every request (generated and printed with --allow-remote if not given).",
        ),
    ] = None,
) -> None:
    """Serve the trainers' web room (see :data:`SERVE_HELP`)."""
    loopback = is_loopback(host)
    if not loopback and not allow_remote:
        raise ConfigError(
            f"--host {host} is not a loopback address: add --allow-remote to serve other machines "
            "(every request then needs a token)"
        )
    if not loopback:
        token = token or secrets.token_urlsafe(24)
        err_console.print(
            f"[yellow]warning:[/yellow] the web room listens on {escape(host)}: anyone who can reach it and "
            "holds the token can start runs, answer seats and add notes; traffic is not encrypted.",
            highlight=False,
        )
    if token is not None and len(token) < 16:
        raise ConfigError("--token must be at least 16 characters")

    import uvicorn

    from harness.web import RoomSettings, create_app

    if scenarios is None and Path("scenarios").is_dir():
        scenarios = Path("scenarios")
    settings = RoomSettings(out=out, scenarios=scenarios, token=token, loopback=loopback)
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=3,
            lifespan="on",
        )
    )
    settings.stopping = lambda: bool(server.should_exit)
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}/"
    for ref, seats in app.state.manager.waiting_runs().items():
        waits = escape(", ".join(seats))
        console.print(f"run {escape(ref)} waits for {waits}: open {base}seat/{escape(ref)}", highlight=False)
    link = escape(f"{base}?token={token}" if token else base)
    where = escape(str(out))
    console.print(f"web room: [bold]{link}[/bold] (runs in {where}; Ctrl-C stops)", highlight=False)
    server.run()


def register(app: typer.Typer) -> None:
    app.command("serve", help=SERVE_HELP)(serve)
