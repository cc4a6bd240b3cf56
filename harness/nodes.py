"""Node functions of the exercise graph. Each is small and returns a partial state update.

Every turn has a deterministic transcript key. A node first looks its key up: a turn already recorded
(by this process or one that crashed) is reused, never asked again, so transcript and graph agree and
every turn appears exactly once. A reply that fails validation is recorded as an ``error`` event and the
run goes on; an unreachable backend propagates and the runner ends the run as ``interrupted``.
"""

from __future__ import annotations

import logging
from typing import Any

from langgraph.runtime import Runtime

from harness import keys, views
from harness.cards import card_model, next_move_id, to_position_card
from harness.context import RunContext
from harness.human import ask, card_fields, seat_view, turn_payload
from harness.llm.base import InvalidReply, Message
from harness.schema import (
    AdjudicationEvent,
    InjectEvent,
    PositionCard,
    PositionCardEvent,
    UtteranceEvent,
)
from harness.state import ExerciseState, Task

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _clean(text: str, speaker_name: str) -> str:
    text = text.strip()
    for prefix in (f"{speaker_name}:", f"**{speaker_name}:**"):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
    return text


async def _speak(
    ctx: RunContext,
    *,
    key: str,
    move: str,
    phase: str,
    channel: str,
    delegation: str | None,
    speaker: str,
    messages: list[Message],
    rnd: int = 0,
    to: str | None = None,
) -> UtteranceEvent | None:
    """Record one utterance for ``key`` (reused if present; human seat or model otherwise)."""
    recorded = ctx.writer.get(key)
    if isinstance(recorded, UtteranceEvent):
        return recorded
    if keys.error(key) in ctx.writer:
        return None
    common: dict[str, Any] = {
        "key": key,
        "utterance_id": key,
        "move": move,
        "phase": phase,
        "channel": channel,
        "delegation": delegation,
        "speaker": speaker,
        "round": rnd,
        "to": to,
    }
    if delegation is not None and _is_human(ctx, delegation, speaker):
        payload = turn_payload(
            kind="utterance",
            delegation=delegation,
            move=move,
            phase=phase,
            speaker=speaker,
            view=seat_view(ctx, move=move, delegation=delegation, phase=phase, rnd=rnd, to=to),
        )
        value = ask(key, payload)
        text = str(value.get("text", "")).strip() or "(no comment)"
        return ctx.writer.write(UtteranceEvent(**common, author="human", text=text, usage=None))
    try:
        reply = await ctx.call(key, delegation, messages, max_tokens=ctx.options.turn_tokens)
    except InvalidReply as exc:
        ctx.record_error(key, move, key, "invalid_reply", str(exc))
        return None
    persona = ctx.bundle.personas.get(speaker)
    text = _clean(reply.text, persona.name if persona else speaker)
    if not text:
        ctx.record_error(key, move, key, "empty_reply", "the model returned no text")
        return None
    event = UtteranceEvent(**common, author="model", text=text, usage=ctx.usage_of(reply))
    return ctx.writer.write(event)


def _is_human(ctx: RunContext, delegation: str | None, speaker: str) -> bool:
    """The human plays the head of a seated delegation; its other members stay AI."""
    if delegation is None or delegation not in ctx.human_seats:
        return False
    return speaker == ctx.scenario.delegation(delegation).head


def plenary_order(ctx: RunContext) -> list[str]:
    return [d.id for d in ctx.scenario.delegations]


def target_of(ctx: RunContext, delegation: str, rnd: int) -> str | None:
    """Round-robin questioning: in round r, delegation i questions delegation i+offset(r)."""
    order = plenary_order(ctx)
    n = len(order)
    if n < 2:
        return None
    offset = ((rnd - 1) % (n - 1)) + 1
    return order[(order.index(delegation) + offset) % n]


def asker_of(ctx: RunContext, delegation: str, rnd: int) -> str | None:
    order = plenary_order(ctx)
    n = len(order)
    if n < 2:
        return None
    offset = ((rnd - 1) % (n - 1)) + 1
    return order[(order.index(delegation) - offset) % n]


# ------------------------------------------------------------------------------------------------
# nodes
# ------------------------------------------------------------------------------------------------


async def open_move(state: ExerciseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    move_id = state.get("move")
    assert move_id is not None
    move = ctx.move(move_id)
    ctx.writer.write(
        InjectEvent(
            key=keys.inject(move.id),
            move=move.id,
            title=move.title,
            text=move.inject,
            set_questions=list(move.set_questions),
        )
    )
    ctx.emit("phase", move=move.id, phase="breakout")
    return {"plenary_round": 0}


async def breakout(task: Task, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """A delegation's private caucus: members speak in rounds, then the head fills in the card."""
    ctx = runtime.context
    move = ctx.move(task["move"])
    d = ctx.scenario.delegation(task["delegation"])
    speakers = [m for m in d.members if m != d.head] + [d.head]
    for rnd in range(1, move.caucus_rounds + 1):
        for pid in speakers:
            key = keys.caucus(move.id, d.id, rnd, pid)
            if key in ctx.writer or keys.error(key) in ctx.writer:
                continue
            await _speak(
                ctx,
                key=key,
                move=move.id,
                phase="caucus",
                channel="caucus",
                delegation=d.id,
                speaker=pid,
                messages=views.caucus_messages(ctx, move, d.id, pid, rnd),
                rnd=rnd,
            )
    card = await _position_card(ctx, move.id, d.id)
    return {"cards": {keys.card_state(move.id, d.id): card.model_dump()}} if card else {}


async def _position_card(ctx: RunContext, move_id: str, delegation: str) -> PositionCard | None:
    key = keys.card(move_id, delegation)
    recorded = ctx.writer.get(key)
    if isinstance(recorded, PositionCardEvent):
        return recorded.card
    if keys.error(key) in ctx.writer:
        return None
    move = ctx.move(move_id)
    model = card_model(ctx.scenario, move, delegation, ctx.bundle.rubrics)
    if delegation in ctx.human_seats:
        head = ctx.scenario.delegation(delegation).head
        view = seat_view(ctx, move=move_id, delegation=delegation, phase="card")
        payload = turn_payload(
            kind="card", delegation=delegation, move=move_id, phase="card", speaker=head, view=view
        )
        payload["fields"] = card_fields(model)
        value = ask(key, payload)
        card = to_position_card(dict(value.get("card", {})), ctx.scenario, move, delegation)
        event = PositionCardEvent(key=key, move=move_id, delegation=delegation, author="human", card=card)
        return ctx.writer.write(event).card
    messages = views.card_messages(ctx, move, delegation)
    try:
        reply = await ctx.call(
            key, delegation, messages, response_model=model, max_tokens=ctx.options.card_tokens
        )
    except InvalidReply as exc:
        ctx.record_error(key, move_id, key, "invalid_reply", str(exc))
        return None
    if reply.parsed is None:
        ctx.record_error(key, move_id, key, "invalid_reply", "no structured reply")
        return None
    card = to_position_card(reply.parsed, ctx.scenario, move, delegation)
    event = PositionCardEvent(
        key=key, move=move_id, delegation=delegation, author="model", card=card, usage=ctx.usage_of(reply)
    )
    return ctx.writer.write(event).card


async def report(task: Task, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    move = ctx.move(task["move"])
    d = task["delegation"]
    await _speak(
        ctx,
        key=keys.report(move.id, d),
        move=move.id,
        phase="report",
        channel="plenary",
        delegation=d,
        speaker=ctx.scenario.delegation(d).head,
        messages=views.report_messages(ctx, move, d),
    )
    return {}


async def question(task: Task, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    move = ctx.move(task["move"])
    d, rnd = task["delegation"], task["round"]
    target = target_of(ctx, d, rnd)
    if target is None:
        return {}
    target_report = views.text_of(ctx, keys.report(move.id, target)) or "(no report was given)"
    await _speak(
        ctx,
        key=keys.question(move.id, d, rnd),
        move=move.id,
        phase="question",
        channel="plenary",
        delegation=d,
        speaker=ctx.scenario.delegation(d).head,
        messages=views.question_messages(ctx, move, d, target, target_report, rnd),
        rnd=rnd,
        to=target,
    )
    return {}


async def answer(task: Task, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    move = ctx.move(task["move"])
    d, rnd = task["delegation"], task["round"]
    asker = asker_of(ctx, d, rnd)
    if asker is None:
        return {}
    asked = views.text_of(ctx, keys.question(move.id, asker, rnd))
    if not asked:
        return {}
    await _speak(
        ctx,
        key=keys.answer(move.id, d, rnd),
        move=move.id,
        phase="answer",
        channel="plenary",
        delegation=d,
        speaker=ctx.scenario.delegation(d).head,
        messages=views.answer_messages(ctx, move, d, asker, asked, rnd),
        rnd=rnd,
        to=asker,
    )
    return {}


async def adjudicate(state: ExerciseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Scripted consequences (+ optional narration by Control), then the branch to the next move."""
    ctx = runtime.context
    move_id = state.get("move")
    assert move_id is not None
    move = ctx.move(move_id)
    key = keys.adjudication(move.id)
    recorded = ctx.writer.get(key)
    if isinstance(recorded, AdjudicationEvent):
        return {"played": [move.id], "move": recorded.next_move}
    ctx.emit("phase", move=move.id, phase="adjudication")
    narration = None
    if ctx.options.narrate:
        narration = await _speak(
            ctx,
            key=keys.narration(move.id),
            move=move.id,
            phase="control",
            channel="plenary",
            delegation=None,
            speaker=ctx.scenario.control,
            messages=views.adjudication_messages(ctx, move),
        )
    all_cards = state.get("cards", {})
    cards = {
        d.id: PositionCard.model_validate(all_cards[keys.card_state(move.id, d.id)])
        for d in ctx.scenario.delegations
        if keys.card_state(move.id, d.id) in all_cards
    }
    nxt = next_move_id(ctx.scenario, move, cards)
    played = [*state.get("played", []), move.id]
    if nxt is not None and nxt in played:
        ctx.record_error(
            key, move.id, key, "branch_loop", f"move {nxt!r} was already played; ending the exercise"
        )
        nxt = None
    if move.consequences:
        text, scripted = move.consequences, True
    elif narration is not None:
        text, scripted = narration.text, False
    else:
        text, scripted = "(no adjudication text)", True
    ctx.writer.write(AdjudicationEvent(key=key, move=move.id, text=text, scripted=scripted, next_move=nxt))
    return {"played": [move.id], "move": nxt}


async def hotwash(task: Task, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    d = task["delegation"]
    await _speak(
        ctx,
        key=keys.hotwash(d),
        move=keys.HOTWASH_MOVE,
        phase="hotwash",
        channel="plenary",
        delegation=d,
        speaker=ctx.scenario.delegation(d).head,
        messages=views.hotwash_messages(ctx, d),
    )
    return {}


async def join(state: ExerciseState) -> dict[str, Any]:
    """A fan-in point: runs once after all parallel tasks of the previous step."""
    return {}


async def next_round(state: ExerciseState) -> dict[str, Any]:
    return {"plenary_round": state.get("plenary_round", 0) + 1}
