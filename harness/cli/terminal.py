"""Terminal pieces of the CLI: the progress display and the human seat's prompts."""

from __future__ import annotations

import signal
import sys
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from harness.human import blank_allowed, parse_field, payload_view
from harness.llm.base import CallUsage


class ProgressDisplay:
    """A one-line live status: move, phase, calls done, tokens, errors."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.console = console
        self.enabled = enabled and console.is_terminal
        self.move = "-"
        self.phase = "starting"
        self.calls = 0
        self.in_flight = 0
        self.tokens = 0
        self.errors = 0
        self._live: Live | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.enabled:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def pause(self) -> None:
        """Stop drawing while the human types."""
        if self._live is not None:
            self._live.stop()

    def unpause(self) -> None:
        if self._live is not None:
            self._live.start()

    def _render(self) -> Text:
        return Text.assemble(
            ("● ", "cyan"),
            f"move {self.move} · {self.phase} · ",
            (f"{self.calls} calls", "bold"),
            f" ({self.in_flight} in flight) · {self.tokens:,} tokens",
            (f" · {self.errors} errors" if self.errors else "", "red"),
        )

    def hook(self, what: str, info: dict[str, Any]) -> None:
        if what == "phase":
            self.move = str(info.get("move", self.move))
            self.phase = str(info.get("phase", self.phase))
        elif what == "call_start":
            self.in_flight += 1
            key = str(info.get("key", ""))
            parts = key.split("/")
            if len(parts) > 1 and parts[0] != "hotwash":
                self.move, self.phase = parts[0], parts[1]
            elif parts and parts[0] == "hotwash":
                self.phase = "hot-wash"
        elif what == "call_end":
            self.in_flight = max(0, self.in_flight - 1)
            self.calls += 1
            usage = info.get("usage")
            if isinstance(usage, CallUsage):
                self.tokens += usage.prompt_tokens + usage.completion_tokens
        elif what == "error":
            self.errors += 1
        if self._live is not None:
            self._live.update(self._render())


class TerminalSeat:
    """Answers the run's interrupts at the terminal: a turn's text or the position card's fields."""

    def __init__(self, console: Console, display: ProgressDisplay | None = None) -> None:
        self.console = console
        self.display = display

    def _ask(self, label: str) -> str:
        # asyncio.run's own SIGINT handler only cancels the task at the next loop turn, which a
        # blocking read never reaches: Ctrl-C must interrupt the read itself. The handler is in place
        # before the prompt shows, so a Ctrl-C typed as soon as the prompt appears is not lost.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self.console.print(label, end="", markup=True, highlight=False)
            line = sys.stdin.readline()
        finally:
            signal.signal(signal.SIGINT, previous)
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self.display is not None:
            self.display.pause()
        try:
            return self._card(payload) if payload.get("kind") == "card" else self._turn(payload)
        finally:
            if self.display is not None:
                self.display.unpause()

    def _header(self, payload: dict[str, Any], what: str) -> None:
        title = f"[bold]Your seat: {payload['delegation']}[/bold] · move {payload['move']} · {what}"
        self.console.print(Panel(seat_text(payload_view(payload)), title=title, expand=True))

    def _turn(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._header(payload, payload.get("phase", "turn"))
        text = ""
        while not text.strip():
            text = self._ask(f"[cyan]{payload['delegation']} ({payload['phase']})>[/cyan] ")
        return {"text": text.strip()}

    def _card(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._header(payload, "position card")
        axes = {a["id"]: a for a in payload_view(payload).get("form", {}).get("axes", [])}
        card: dict[str, Any] = {}
        for f in payload.get("fields", []):
            name, choices = f["name"], f.get("choices")
            axis = axes.get(name.removesuffix("_level")) if name.endswith("_level") else None
            if axis is not None:
                self.console.print(_anchors(axis))
            hint = f" [{'/'.join(str(c) for c in choices)}]" if choices else ""
            if choices and blank_allowed(f):
                hint += " (blank: none)"
            desc = f" — {f['description']}" if f.get("description") else ""
            while True:
                raw = self._ask(f"[cyan]{name}[/cyan]{escape(desc)}{escape(hint)}: ")
                try:
                    card[name] = parse_field(f, raw)
                    break
                except ValueError as exc:
                    self.console.print(f"[red]{escape(str(exc))}[/red]")
        return {"card": card}


def _anchors(axis: dict[str, Any]) -> Text:
    text = Text.assemble((str(axis.get("title", axis.get("id", ""))), "bold"), "\n")
    for level, anchor in axis.get("levels", []):
        text.append(f"  {level} = {anchor}\n")
    text.append("  blank = not addressed\n", style="dim")
    return text


def seat_text(view: dict[str, Any]) -> Text:
    """What the seat sees (:func:`harness.human.seat_view`) as plain terminal text (no markup parsed)."""
    text = Text()
    inject = view.get("inject")
    if inject:
        text.append(f"Inject: {inject['title']}\n", style="bold")
        text.append(f"{inject['text']}\n")
        for i, q in enumerate(inject.get("set_questions", []), start=1):
            text.append(f"  Q{i}. {q}\n")
    for section in view.get("sections", []):
        text.append(f"\n{section['title']}\n", style="bold")
        for line in section.get("lines", []):
            text.append(f"  {line}\n")
    if view.get("task"):
        text.append(f"\n{view['task']}", style="cyan")
    return text
