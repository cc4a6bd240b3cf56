"""Terminal rendering of a transcript (``harness show``)."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from harness.schema import (
    AdjudicationEvent,
    ErrorEvent,
    InjectEvent,
    PositionCardEvent,
    UtteranceEvent,
)
from harness.transcript import Run

CHANNEL_STYLE = {"caucus": "yellow", "plenary": "cyan"}


def print_run(
    console: Console,
    run: Run,
    *,
    move: str | None = None,
    delegation: str | None = None,
    channel: str | None = None,
) -> None:
    m = run.manifest
    console.print(
        Panel(
            Text.assemble(
                (f"{m.run_id}\n", "bold"),
                f"scenario {m.scenario.id} v{m.scenario.version} · source {m.source} · "
                f"backend {m.backend.profile} · model {m.backend.model} · seed {m.sampling.seed}",
                (f"\nforked from {m.parent.run_id} at {m.parent.move}" if m.parent else ""),
                (f"\nhuman seats: {', '.join(m.human_seats)}" if m.human_seats else ""),
            ),
            title="run",
        )
    )
    for e in run.events:
        ev_move = getattr(e, "move", None)
        if move and ev_move != move:
            continue
        if isinstance(e, InjectEvent):
            console.print(Rule(f"[bold]{e.move} · {e.title}[/bold]"))
            console.print(Panel(e.text, title="inject (Control)", border_style="magenta"))
            for i, q in enumerate(e.set_questions, 1):
                console.print(f"  [magenta]Q{i}[/magenta] {q}")
        elif isinstance(e, UtteranceEvent):
            if delegation and e.delegation != delegation:
                continue
            if channel and e.channel != channel:
                continue
            style = CHANNEL_STYLE.get(e.channel, "white")
            to = f" → {e.to}" if e.to else ""
            who = f"{e.delegation or 'Control'} · {e.speaker}"
            tag = f"[{style}]{e.channel}/{e.phase}[/{style}]"
            author = "" if e.author == "model" else f" [bold red]({e.author})[/bold red]"
            console.print(f"{tag} [bold]{who}[/bold]{to}{author}")
            console.print(Text(e.text), style="default")
            console.print()
        elif isinstance(e, PositionCardEvent):
            if delegation and e.delegation != delegation:
                continue
            if channel == "plenary":
                continue
            table = Table(title=f"position card · {e.delegation} · {e.move}", show_header=False, expand=True)
            table.add_column(style="bold", ratio=1)
            table.add_column(ratio=3)
            for a in e.card.answers:
                table.add_row(a.question, a.answer)
            for s in e.card.stances:
                table.add_row(s.axis, f"{'not addressed' if s.level is None else s.level} — {s.rationale}")
            for r in e.card.requests:
                table.add_row(f"request → {r.to}", r.ask)
            if e.card.red_lines_invoked:
                table.add_row("red lines", "; ".join(e.card.red_lines_invoked))
            console.print(table)
        elif isinstance(e, AdjudicationEvent):
            nxt = f" → next: {e.next_move}" if e.next_move else " → end of moves"
            console.print(Panel(e.text, title=f"adjudication{nxt}", border_style="magenta"))
        elif isinstance(e, ErrorEvent):
            console.print(f"[red]error[/red] {e.where}: {e.kind}: {e.message}")
    end = run.run_end()
    if end is not None and not move:
        t = end.totals
        tokens = t.prompt_tokens + t.completion_tokens
        console.print(Rule(f"run_end: {end.status} · {t.calls} calls · {tokens:,} tokens · {t.wall_s:.1f} s"))
    elif end is None and not move:
        console.print(Rule("[yellow]no run_end: the run is in progress or was killed[/yellow]"))
