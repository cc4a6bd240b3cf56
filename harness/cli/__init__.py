"""The command line: parses, prints (rich) and calls the library. Nothing else imports it.

Each command group lives in its own module with a ``register(app)`` function; ``main`` turns every
:class:`~harness.errors.HarnessError` into one red line on stderr and its exit status (2 for bad data or
configuration), never a traceback.
"""

from __future__ import annotations

import gc
import importlib
import logging
import signal
import sys
import threading

import typer
from rich.console import Console
from rich.markup import escape

from harness.errors import HarnessError

app = typer.Typer(
    name="harness",
    help="Delegation role-play harness: run crisis dialogues between LLM delegations and score divergence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


_registered = False


COMMAND_MODULES = (
    "data_cmds",
    "llm_cmds",
    "run_cmds",
    "eval_cmds",
    "trust_cmds",
    "report_cmds",
    "batch_cmds",
    "research_cmds",
    "serve_cmds",
)


def _register_all() -> None:
    """Register every command group once (``main`` may be called many times in one process).

    A command module that fails to import is a bug or a broken install: the error propagates (with the
    module's name in its traceback) instead of the command silently disappearing.
    """
    global _registered
    if _registered:
        return
    for name in COMMAND_MODULES:
        importlib.import_module(f"harness.cli.{name}").register(app)
    _registered = True


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a command like Ctrl-C does: runs are saved as interrupted, servers stopped."""
    signal.raise_signal(signal.SIGINT)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    _register_all()
    try:
        rv = app(args=argv, standalone_mode=False)
    except HarnessError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/yellow]")
        return 130
    except SystemExit as exc:  # typer.Exit inside commands
        return int(exc.code or 0)
    except Exception as exc:  # usage errors (an unknown command or option, a missing argument) and the like
        shown, aborts = _usage_error_types()
        if isinstance(exc, shown):
            exc.show()  # type: ignore[attr-defined]  # both ClickException kinds have show/exit_code
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, aborts):
            err_console.print("[yellow]aborted[/yellow]")
            return 130
        raise
    return rv if isinstance(rv, int) else 0


def _usage_error_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """The exception classes of a usage error and of an abort: click's, and those of the copy of click
    that typer ships from 0.26 on (``typer._click``), which are not subclasses of click's."""
    shown: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = []
    for name in ("click.exceptions", "typer._click.exceptions", "typer.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if isinstance(getattr(module, "ClickException", None), type):
            shown.append(module.ClickException)
        if isinstance(getattr(module, "Abort", None), type):
            aborts.append(module.Abort)
    return tuple(shown), tuple(aborts)


def run() -> None:
    """The console entry point (``harness``, ``python -m harness``)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    code = main()
    # What is alive now lives until exit: frozen, the interpreter's last collections skip it instead of
    # traversing every object the imports made (a third of a second with LangGraph and the OpenAI SDK).
    gc.freeze()
    sys.exit(code)
