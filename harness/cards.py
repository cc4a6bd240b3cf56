"""Position cards: the per-move response model the head fills in, and branch evaluation over cards.

The response model is built from the scenario (one required property per set question and per axis,
levels as enums): a schema with free lists came back valid but empty from small models (docs/backends.md).
Only what the delegation must decide is asked; delegation and move are filled in by code.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from harness.schema import Answer, Branch, Move, PositionCard, Request, Rubric, Scenario, Stance

LevelChoice = Literal[0, 1, 2, 3, 4]


def clipped(limit: int) -> Any:
    """A string the grammar bounds (``maxLength`` in the schema) and validation clips, never rejects."""

    def clip(value: Any) -> Any:
        return value[:limit] if isinstance(value, str) else value

    return Annotated[str, BeforeValidator(clip), Field(max_length=limit)]


ANSWER, RATIONALE, REQUEST, RED_LINE = clipped(320), clipped(240), clipped(240), clipped(120)
NO_RED_LINE = {"", "none", "no", "n/a", "none.", "-"}


def card_model(
    scenario: Scenario, move: Move, delegation: str, rubrics: dict[str, Rubric]
) -> type[BaseModel]:
    """A pydantic model with one required field per set question and per axis (built once per distinct
    content in a process: a batch plays the same moves many times)."""
    titles = tuple((axis, rubrics[axis].title if axis in rubrics else axis) for axis in scenario.axes)
    others = tuple(d.id for d in scenario.delegations if d.id != delegation)
    return _card_model(move.id, tuple(move.set_questions), titles, others, delegation)


@lru_cache(maxsize=256)
def _card_model(
    move_id: str,
    questions: tuple[str, ...],
    titles: tuple[tuple[str, str], ...],
    others: tuple[str, ...],
    delegation: str,
) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for i, question in enumerate(questions, start=1):
        fields[f"answer_{i}"] = (ANSWER, Field(description=question))
    for axis, title in titles:
        fields[f"{axis}_level"] = (LevelChoice, Field(description=f"stance on {title}, 0-4"))
        fields[f"{axis}_rationale"] = (RATIONALE, Field(description="one sentence"))
    if others:
        fields["request_to"] = (Literal[others], Field(description="delegation id"))
        fields["request"] = (REQUEST, Field(description="what you ask of them"))
    fields["red_lines_invoked"] = (RED_LINE, Field(description="a red line at stake, or none"))
    safe = "".join(ch if ch.isalnum() else "_" for ch in f"card_{move_id}_{delegation}")
    model: type[BaseModel] = create_model(safe, __config__=ConfigDict(extra="ignore"), **fields)
    return model


def to_position_card(
    parsed: BaseModel | dict[str, Any], scenario: Scenario, move: Move, delegation: str
) -> PositionCard:
    """Turn the flat reply (model or human) into the contract's :class:`PositionCard`."""
    data = parsed.model_dump() if isinstance(parsed, BaseModel) else dict(parsed)
    answers = [
        Answer(question=q, answer=str(data.get(f"answer_{i}", "")).strip())
        for i, q in enumerate(move.set_questions, start=1)
    ]
    stances = []
    for axis in scenario.axes:
        level = data.get(f"{axis}_level")
        stances.append(
            Stance(
                axis=axis,
                level=int(level) if level is not None and str(level).strip() != "" else None,
                rationale=str(data.get(f"{axis}_rationale", "") or "").strip(),
            )
        )
    requests = []
    to, ask = data.get("request_to"), str(data.get("request", "") or "").strip()
    if to and ask:
        requests.append(Request(to=str(to), ask=ask))
    red = str(data.get("red_lines_invoked", "") or "").strip()
    red_lines = [] if red.lower() in NO_RED_LINE else [red]
    return PositionCard(
        delegation=delegation,
        move=move.id,
        answers=answers,
        stances=stances,
        requests=requests,
        red_lines_invoked=red_lines,
    )


def card_summary(card: PositionCard, rubrics: dict[str, Rubric] | None = None) -> str:
    """A compact, prompt-friendly rendering of a card."""
    parts = []
    for a in card.answers:
        if a.answer:
            parts.append(f"Q: {a.question} A: {a.answer}")
    for s in card.stances:
        title = rubrics[s.axis].title if rubrics and s.axis in rubrics else s.axis
        level = "not addressed" if s.level is None else f"level {s.level}"
        parts.append(f"{title}: {level}" + (f" ({s.rationale})" if s.rationale else ""))
    for r in card.requests:
        parts.append(f"Request to {r.to}: {r.ask}")
    if card.red_lines_invoked:
        parts.append("Red lines: " + "; ".join(card.red_lines_invoked))
    return "\n".join(parts)


def _holds(level: int | None, op: str, target: int) -> bool:
    if level is None:
        return False
    if op == "<=":
        return level <= target
    if op == ">=":
        return level >= target
    return level == target


def branch_taken(branches: list[Branch], cards: dict[str, PositionCard]) -> Branch | None:
    """The first branch whose conditions all hold over this move's cards (by delegation id)."""
    for branch in branches:
        ok = True
        for cond in branch.when:
            card = cards.get(cond.delegation)
            stance = card.stance(cond.axis) if card else None
            if stance is None or not _holds(stance.level, cond.op, cond.level):
                ok = False
                break
        if ok:
            return branch
    return None


def next_move_id(scenario: Scenario, move: Move, cards: dict[str, PositionCard]) -> str | None:
    branch = branch_taken(move.branches, cards)
    if branch is not None:
        return branch.goto
    ids = [m.id for m in scenario.moves]
    i = ids.index(move.id)
    return ids[i + 1] if i + 1 < len(ids) else None
