"""The transcript side of the report: runs, moves and utterances as plain view objects for the templates.

Every utterance gets an HTML id ``u-<utterance_id slugged>`` (``u-r<N>-…`` when several runs share one
page) so that evidence quotes can link to it. Text stays raw here; the templates escape it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from harness.annotations import Annotation
from harness.report.lookup import Lookup
from harness.schema import (
    AdjudicationEvent,
    ErrorEvent,
    InjectEvent,
    ManifestEvent,
    PositionCard,
    PositionCardEvent,
    UtteranceEvent,
)
from harness.transcript import Run

HOTWASH = "hotwash"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def slug(text: str) -> str:
    """A fragment-safe id part: runs of other characters become one ``-``."""
    return _UNSAFE.sub("-", text).strip("-") or "x"


@dataclass
class Citation:
    """A score that quotes an utterance (shown under the utterance, linking back to the evidence)."""

    href: str
    label: str


@dataclass
class NoteView:
    """A trainer's note in the report's list of notes, linking to what it marks."""

    href: str
    target: str
    note: Annotation


@dataclass
class UttView:
    anchor: str
    utterance_id: str
    delegation: str
    delegation_name: str
    colour: int
    speaker: str
    speaker_title: str
    phase: str
    channel: str
    to: str
    round: int
    author: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    notes: list[Annotation] = field(default_factory=list)


@dataclass
class CaucusGroup:
    delegation: str
    name: str
    colour: int
    utterances: list[UttView]


@dataclass
class CardColumn:
    delegation: str
    name: str
    colour: int
    author: str
    card: PositionCard | None
    key: str = ""
    notes: list[Annotation] = field(default_factory=list)


@dataclass
class CardTable:
    """One move's position cards, delegations as columns."""

    columns: list[CardColumn]
    axes: list[str]
    questions: list[str]

    def level(self, col: CardColumn, axis: str) -> int | None:
        stance = col.card.stance(axis) if col.card else None
        return stance.level if stance else None

    def rationale(self, col: CardColumn, axis: str) -> str:
        stance = col.card.stance(axis) if col.card else None
        return stance.rationale if stance else ""

    def answer(self, col: CardColumn, question: str) -> str | None:
        if col.card is None:
            return None
        return next((a.answer for a in col.card.answers if a.question == question), None)


@dataclass
class MoveView:
    move: str
    anchor: str
    title: str
    inject: str
    set_questions: list[str]
    caucus: list[CaucusGroup]
    plenary: list[UttView]
    adjudication: AdjudicationEvent | None
    errors: list[ErrorEvent]
    cards: CardTable


@dataclass
class RunView:
    index: int
    run_id: str
    manifest: ManifestEvent
    facts: list[tuple[str, str]]
    moves: list[MoveView]
    hotwash: list[UttView]
    other_errors: list[ErrorEvent]
    status: str
    notes: list[NoteView] = field(default_factory=list)

    def utterances(self) -> Iterator[UttView]:
        for mv in self.moves:
            for group in mv.caucus:
                yield from group.utterances
            yield from mv.plenary
        yield from self.hotwash


class Anchors:
    """Unique, stable HTML ids for utterances across all runs of one page."""

    def __init__(self, multi: bool) -> None:
        self.multi = multi
        self._by_key: dict[tuple[int, str], str] = {}
        self._used: set[str] = set()

    def utterance(self, run_index: int, utterance_id: str) -> str:
        key = (run_index, utterance_id)
        if key not in self._by_key:
            base = f"u-r{run_index + 1}-{slug(utterance_id)}" if self.multi else f"u-{slug(utterance_id)}"
            anchor, n = base, 1
            while anchor in self._used:
                n += 1
                anchor = f"{base}-{n}"
            self._used.add(anchor)
            self._by_key[key] = anchor
        return self._by_key[key]

    def lookup(self, run_index: int, utterance_id: str) -> str | None:
        return self._by_key.get((run_index, utterance_id))

    def move(self, run_index: int, move: str) -> str:
        return f"move-r{run_index + 1}-{slug(move)}" if self.multi else f"move-{slug(move)}"


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def manifest_facts(run: Run, lookup: Lookup) -> list[tuple[str, str]]:
    """The manifest as label/value rows (values are plain text; the template escapes them)."""
    m = run.manifest
    end = run.run_end()
    facts: list[tuple[str, str]] = [("Run id", m.run_id)]
    title = f" — {lookup.scenario_title}" if lookup.scenario_title else ""
    facts.append(("Scenario", f"{m.scenario.id} v{m.scenario.version}{title}"))
    facts.append(("Source", m.source))
    if m.description:
        facts.append(("About this record", m.description))
    backend = m.backend.profile + (f" · {m.backend.model}" if m.backend.model else "")
    if m.backend.base_url:
        backend += f" · {m.backend.base_url}"
    facts.append(("Model / backend", backend))
    if m.model_for:
        facts.append(("Per-delegation models", ", ".join(f"{d}: {x}" for d, x in m.model_for.items())))
    s = m.sampling
    facts.append(("Seed", "—" if s.seed is None else str(s.seed)))
    facts.append(("Temperature", "backend default" if s.temperature is None else f"{s.temperature:g}"))
    if s.max_tokens is not None:
        facts.append(("Max tokens", str(s.max_tokens)))
    if end is not None:
        t = end.totals
        facts.append(
            (
                "Tokens",
                f"{_fmt_int(t.prompt_tokens)} prompt + {_fmt_int(t.completion_tokens)} completion "
                f"in {_fmt_int(t.calls)} calls",
            )
        )
        facts.append(("Wall time", f"{t.wall_s:,.1f} s"))
    facts.append(("Status", end.status if end else "no run_end: still running or stopped abruptly"))
    if m.parent is not None:
        facts.append(("Forked from", f"{m.parent.run_id} at move {m.parent.move}"))
    if m.overrides:
        facts.append(("Overrides", ", ".join(f"{k}={v}" for k, v in m.overrides.items())))
    facts.append(("Human seats", ", ".join(m.human_seats) if m.human_seats else "none (all AI)"))
    facts.append(("Created", m.created))
    ver = m.harness_version + (f" (git {m.git_sha[:10]})" if m.git_sha else "")
    facts.append(("Harness version", ver))
    errors = [e for e in run.events if isinstance(e, ErrorEvent)]
    if errors:
        facts.append(("Errors recorded", str(len(errors))))
    return facts


def card_axes(runs: list[Run], lookup: Lookup) -> list[str]:
    """Axes in scenario order where known, then in the order the cards first name them."""
    order = list(lookup.axis_order)
    for run in runs:
        for ev in run.cards():
            for st in ev.card.stances:
                if st.axis not in order:
                    order.append(st.axis)
    return order


def build_run_view(
    run: Run,
    index: int,
    anchors: Anchors,
    lookup: Lookup,
    colours: dict[str, int],
    axes: list[str],
) -> RunView:
    """Group one run's events by move; utterance anchors are registered in ``anchors``."""

    def utt(ev: UtteranceEvent) -> UttView:
        d = ev.delegation or ""
        return UttView(
            anchor=anchors.utterance(index, ev.utterance_id),
            utterance_id=ev.utterance_id,
            delegation=d,
            delegation_name=lookup.delegation(ev.delegation),
            colour=colours.get(d, -1),
            speaker=lookup.speaker(ev.speaker),
            speaker_title=lookup.speaker_title(ev.speaker),
            phase=ev.phase,
            channel=ev.channel,
            to=ev.to or "",
            round=ev.round,
            author=ev.author,
            text=ev.text,
        )

    injects = {e.move: e for e in run.injects()}
    adjudications = {e.move: e for e in run.adjudications()}
    delegations = run.delegations()
    moves: list[MoveView] = []
    for move in run.moves():
        inject: InjectEvent | None = injects.get(move)
        utts = [u for u in run.utterances() if u.move == move]
        caucus = [u for u in utts if u.channel == "caucus"]
        seen = {u.delegation for u in caucus}
        groups = [
            CaucusGroup(
                d or "",
                lookup.delegation(d),
                colours.get(d or "", -1),
                [utt(u) for u in caucus if u.delegation == d],
            )
            for d in [*(d for d in delegations if d in seen), *([None] if None in seen else [])]
        ]
        cards: dict[str, PositionCardEvent] = {c.delegation: c for c in run.cards() if c.move == move}
        columns = [
            CardColumn(
                d,
                lookup.delegation(d),
                colours.get(d, -1),
                cards[d].author if d in cards else "",
                cards[d].card if d in cards else None,
                cards[d].key if d in cards else "",
            )
            for d in delegations
        ]
        questions = list(inject.set_questions) if inject else []
        for c in cards.values():
            for a in c.card.answers:
                if a.question not in questions:
                    questions.append(a.question)
        moves.append(
            MoveView(
                move=move,
                anchor=anchors.move(index, move),
                title=inject.title if inject else move,
                inject=inject.text if inject else "",
                set_questions=list(inject.set_questions) if inject else [],
                caucus=groups,
                plenary=[utt(u) for u in utts if u.channel == "plenary"],
                adjudication=adjudications.get(move),
                errors=[e for e in run.of(ErrorEvent) if e.move == move],
                cards=CardTable(columns if cards else [], axes, questions),
            )
        )
    played = set(run.moves())
    hotwash = [utt(u) for u in run.utterances() if u.move not in played]
    end = run.run_end()
    return RunView(
        index=index,
        run_id=run.run_id,
        manifest=run.manifest,
        facts=manifest_facts(run, lookup),
        moves=moves,
        hotwash=hotwash,
        other_errors=[e for e in run.of(ErrorEvent) if e.move is None or e.move not in played],
        status=end.status if end else "unfinished",
    )
