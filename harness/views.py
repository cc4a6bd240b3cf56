"""What each seat sees: prompt messages built from the transcript, bounded in size.

A caucus prompt holds the inject, the delegation's own caucus so far, a compact summary of earlier
moves and the latest plenary exchanges: never another delegation's caucus. ``fit`` drops the oldest
history, plenary and caucus lines until the prompt is under the configured token cap, so prompt size
stays bounded whatever the number of moves.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from harness import keys
from harness.cards import card_summary
from harness.context import PersonaDetail, RunContext, approx_tokens
from harness.eventindex import index_of
from harness.llm.base import Message
from harness.schema import (
    Move,
    Persona,
    PositionCard,
    PositionCardEvent,
    UtteranceEvent,
)

log = logging.getLogger(__name__)

LINE_CHARS = 480  # one quoted line in a prompt
HISTORY_CHARS = 420  # one earlier move in the summary
PLENARY_KEEP = 6  # latest plenary lines offered before fitting
SHRINKABLE = ("history", "plenary", "caucus")


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!etc)\.\s+(?=[A-Z(])")


def _first_sentence(text: str) -> str:
    """A rubric anchor's defining sentence (the anchor comes first; elaboration follows)."""
    return _sentences(text, 1)


BRIEF_SENTENCES = 1  # of a persona's background, in a brief persona
BRIEF_INTERESTS = 2


def _sentences(text: str, n: int) -> str:
    """The first ``n`` sentences of ``text`` (all of it if it has fewer), whitespace collapsed."""
    text = " ".join(text.split())
    for count, match in enumerate(_SENTENCE_END.finditer(text), start=1):
        if count == n:
            return text[: match.start() + 1]
    return text


def persona_view(persona: Persona, detail: PersonaDetail = "full") -> dict[str, Any]:
    """What a prompt may know of a persona: everything but ``stance_priors`` (analysis only).

    ``detail="brief"`` (tight prompt budgets, e.g. the embedded model) keeps the name, title, the
    first sentence of the background, the first two interests, every red line and the voice's first
    sentence, and drops the constraints.
    """
    data = persona.model_dump(exclude={"stance_priors", "sources"})
    assert "stance_priors" not in data
    if detail == "brief":
        data["background"] = _sentences(persona.background, BRIEF_SENTENCES)
        data["interests"] = persona.interests[:BRIEF_INTERESTS]
        data["constraints"] = []
        data["voice"] = _sentences(persona.voice, 1)
    return data


def speaker_label(ctx: RunContext, persona_id: str) -> str:
    p = ctx.bundle.personas.get(persona_id)
    return f"{p.name} ({p.title})" if p else persona_id


def delegation_name(ctx: RunContext, delegation_id: str) -> str:
    try:
        return ctx.scenario.delegation(delegation_id).name
    except KeyError:
        return delegation_id


# ------------------------------------------------------------------------------------------------
# Pieces read back from the transcript
# ------------------------------------------------------------------------------------------------


def caucus_lines(ctx: RunContext, move: str, delegation: str) -> list[str]:
    out = []
    for e in index_of(ctx.writer).caucus(move, delegation):
        out.append(f"{speaker_label(ctx, e.speaker)}: {_clip(e.text, LINE_CHARS)}")
    return out


PHASE_RANK = {"report": 0, "question": 1, "answer": 2}


def plenary_lines(ctx: RunContext, move: str) -> list[str]:
    """The latest plenary exchanges: this move's, else the end of the previous move's plenary.

    Quoted in exercise order (round, then reports, questions, answers, then the scenario's delegation
    order), not in the order the replies arrived: turns of one step run in parallel, and a prompt must
    not depend on which reply came back first (seeded runs replay alike at any concurrency).
    """
    seat = {d.id: i for i, d in enumerate(ctx.scenario.delegations)}
    by_move: dict[str, list[UtteranceEvent]] = {}
    for e in index_of(ctx.writer).plenary():
        by_move.setdefault(e.move, []).append(e)

    def lines(events: list[UtteranceEvent]) -> list[str]:
        ordered = sorted(
            events,
            key=lambda e: (
                e.round,
                PHASE_RANK.get(e.phase, len(PHASE_RANK)),
                seat.get(e.delegation or "", -1),
            ),
        )
        return [
            f"{delegation_name(ctx, e.delegation) if e.delegation else 'Control'} ({e.phase}): "
            f"{_clip(e.text, LINE_CHARS)}"
            for e in ordered
        ]

    if move in by_move:
        return lines(by_move[move])[-PLENARY_KEEP:]
    every = [line for events in by_move.values() for line in lines(events)]
    return every[-PLENARY_KEEP // 2 :]


def text_of(ctx: RunContext, key: str) -> str:
    """The text of the utterance recorded under ``key`` ("" if none)."""
    ev = ctx.writer.get(key)
    return ev.text if isinstance(ev, UtteranceEvent) else ""


def own_card(ctx: RunContext, move: str, delegation: str) -> PositionCard | None:
    ev = ctx.writer.get(keys.card(move, delegation))
    return ev.card if isinstance(ev, PositionCardEvent) else None


def history_lines(ctx: RunContext, delegation: str | None, before_move: str | None) -> list[str]:
    """One compact line per earlier move: what Control said happened, and this delegation's stance."""
    out = []
    for e in index_of(ctx.writer).adjudications():
        if e.move == before_move:
            continue
        title = ctx.move(e.move).title if e.move in {m.id for m in ctx.scenario.moves} else e.move
        line = f'Move "{title}": {_clip(e.text, HISTORY_CHARS)}'
        card = own_card(ctx, e.move, delegation) if delegation else None
        if card is not None:
            stated = "; ".join(f"{s.axis} {'n/a' if s.level is None else s.level}" for s in card.stances)
            line += f" (Your delegation's stated stances: {stated}.)"
        out.append(line)
    return out


# ------------------------------------------------------------------------------------------------
# Rendering with a cap
# ------------------------------------------------------------------------------------------------


def fit(ctx: RunContext, template: str, system: str, variables: dict[str, Any]) -> list[Message]:
    """Render ``template``; drop the oldest shrinkable lines until the prompt is under the cap."""
    cap = ctx.options.prompt_cap
    sys_tokens = approx_tokens(system)
    while True:
        user = ctx.prompts.render(template, **variables)
        if sys_tokens + approx_tokens(user) <= cap:
            break
        # oldest first, and in this order: earlier moves, then plenary, then the seat's own caucus
        victim = next((k for k in SHRINKABLE if variables.get(k)), None)
        if victim is None:  # nothing left to drop; the fixed parts alone exceed the cap
            log.warning(
                "%s prompt needs ~%d tokens, over the cap of %d, with nothing left to trim",
                template,
                sys_tokens + approx_tokens(user),
                cap,
            )
            break
        variables = {**variables, victim: variables[victim][1:]}
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def base_variables(ctx: RunContext, move: Move, delegation: str | None) -> dict[str, Any]:
    return {
        "move": move,
        "history": history_lines(ctx, delegation, move.id),
        "plenary": plenary_lines(ctx, move.id),
        "sentences": ctx.options.sentences,
    }


def delegation_system(ctx: RunContext, delegation: str) -> str:
    """The system message of every seat of ``delegation``: the setting and the brief, never a persona.

    It is the same for all of a delegation's seats, and the setting comes first, so the calls of a run
    share a long stable prefix (a server with a prompt cache reads it once). Who the speaker is comes
    in the user message, after the shared context (``_persona.md``).
    """
    scenario = ctx.scenario
    d = scenario.delegation(delegation)
    return ctx.prompts.render(
        "delegation_system",
        delegation={"id": d.id, "name": d.name, "brief": d.brief},
        scenario={
            "title": scenario.title,
            "date": scenario.setting.date,
            "place": scenario.setting.place,
            "background": scenario.setting.background,
        },
        others=[o.name for o in scenario.delegations if o.id != delegation],
        non_players=[a.name for a in scenario.non_player_actors],
    )


def seat_variables(ctx: RunContext, delegation: str, persona_id: str) -> dict[str, Any]:
    """Who is speaking, for ``_persona.md``: the delegation and the persona (never its priors)."""
    return {
        "delegation": delegation_vars(ctx, delegation),
        "persona": persona_view(ctx.persona(persona_id), ctx.options.persona_detail),
    }


def control_system(ctx: RunContext) -> str:
    scenario = ctx.scenario
    return ctx.prompts.render(
        "control_system",
        persona=persona_view(ctx.persona(scenario.control)),
        scenario={
            "title": scenario.title,
            "date": scenario.setting.date,
            "place": scenario.setting.place,
        },
        non_players=[a.model_dump() for a in scenario.non_player_actors],
    )


def delegation_vars(ctx: RunContext, delegation: str) -> dict[str, Any]:
    d = ctx.scenario.delegation(delegation)
    return {"id": d.id, "name": d.name, "brief": d.brief}


def caucus_messages(ctx: RunContext, move: Move, delegation: str, persona_id: str, rnd: int) -> list[Message]:
    variables = (
        base_variables(ctx, move, delegation)
        | seat_variables(ctx, delegation, persona_id)
        | {
            "caucus": caucus_lines(ctx, move.id, delegation),
            "round": rnd,
            "rounds": move.caucus_rounds,
        }
    )
    return fit(ctx, "caucus", delegation_system(ctx, delegation), variables)


def card_messages(ctx: RunContext, move: Move, delegation: str) -> list[Message]:
    head = ctx.scenario.delegation(delegation).head
    axes = []
    for axis in ctx.scenario.axes:
        r = ctx.bundle.rubrics.get(axis)
        axes.append(
            {
                "id": axis,
                "title": r.title if r else axis,
                "question": r.question if r else axis,
                "levels": {k: _first_sentence(v) for k, v in sorted(r.levels.items())} if r else {},
            }
        )
    variables = base_variables(ctx, move, delegation) | {
        **seat_variables(ctx, delegation, head),
        "caucus": caucus_lines(ctx, move.id, delegation),
        "axes": axes,
        "others_ids": [d.id for d in ctx.scenario.delegations if d.id != delegation],
    }
    return fit(ctx, "position_card", delegation_system(ctx, delegation), variables)


def card_text(ctx: RunContext, move: Move, delegation: str) -> str:
    card = own_card(ctx, move.id, delegation)
    return card_summary(card, ctx.bundle.rubrics) if card else "(no position card was recorded)"


def report_messages(ctx: RunContext, move: Move, delegation: str) -> list[Message]:
    head = ctx.scenario.delegation(delegation).head
    variables = base_variables(ctx, move, delegation) | {
        **seat_variables(ctx, delegation, head),
        "card": card_text(ctx, move, delegation),
    }
    return fit(ctx, "report", delegation_system(ctx, delegation), variables)


def question_messages(
    ctx: RunContext, move: Move, delegation: str, target: str, target_report: str, rnd: int
) -> list[Message]:
    head = ctx.scenario.delegation(delegation).head
    variables = base_variables(ctx, move, delegation) | {
        **seat_variables(ctx, delegation, head),
        "card": card_text(ctx, move, delegation),
        "target": delegation_name(ctx, target),
        "target_report": _clip(target_report, LINE_CHARS),
        "round": rnd,
    }
    return fit(ctx, "question", delegation_system(ctx, delegation), variables)


def answer_messages(
    ctx: RunContext, move: Move, delegation: str, asker: str, question: str, rnd: int
) -> list[Message]:
    head = ctx.scenario.delegation(delegation).head
    variables = base_variables(ctx, move, delegation) | {
        **seat_variables(ctx, delegation, head),
        "card": card_text(ctx, move, delegation),
        "asker": delegation_name(ctx, asker),
        "question": _clip(question, LINE_CHARS),
        "round": rnd,
    }
    return fit(ctx, "answer", delegation_system(ctx, delegation), variables)


def adjudication_messages(ctx: RunContext, move: Move) -> list[Message]:
    cards = []
    for d in ctx.scenario.delegations:
        card = own_card(ctx, move.id, d.id)
        if card is not None:
            cards.append(f"{d.name}: " + _clip(card_summary(card, ctx.bundle.rubrics), 700))
    variables = {
        "move": move,
        "cards": cards,
        "plenary": plenary_lines(ctx, move.id),
        "consequences": move.consequences or "",
        "sentences": "three to five",
    }
    return fit(ctx, "adjudication", control_system(ctx), variables)


def hotwash_messages(ctx: RunContext, delegation: str) -> list[Message]:
    head = ctx.scenario.delegation(delegation).head
    variables = {
        **seat_variables(ctx, delegation, head),
        "history": history_lines(ctx, delegation, None),
        "plenary": plenary_lines(ctx, "__none__"),
        "sentences": ctx.options.sentences,
    }
    return fit(ctx, "hotwash", delegation_system(ctx, delegation), variables)
