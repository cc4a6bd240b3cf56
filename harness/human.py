"""A human in a delegation's seat: LangGraph ``interrupt`` payloads and how resume values are matched.

Each human turn is one ``interrupt`` whose payload names the turn's transcript key; the resume value
must carry the same key. A node that interrupts re-runs from its top on resume, and LangGraph hands
earlier resume values back in call order, so ``ask`` skips values meant for other keys: turns already
answered are in the transcript by then and are not asked again.

The payload carries what a *person* in the seat needs (:func:`seat_view`): the inject and the set
questions, the seat's own caucus, the plenary, the question put to it, and for the position card a form
spec with each axis's rubric anchors. It never carries the model's prompt or its instructions. The
terminal seat and the web room both read it, and both check a person's card answers with
:func:`card_answers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langgraph.types import interrupt
from pydantic import BaseModel

from harness import keys, views

if TYPE_CHECKING:
    from harness.context import RunContext

MAX_FIELD_CHARS = 2000
"""The longest answer a person may give in one card field."""

OPTIONAL_CHOICES = ("request_to",)
"""Choice fields a person may leave blank (besides the ``*_level`` fields: blank = not addressed)."""


def ask(key: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Pause the run for the human's input for transcript key ``key``; return the matching value."""
    while True:
        value = interrupt({**payload, "key": key})
        if isinstance(value, dict) and value.get("key") == key:
            return value


def turn_payload(
    *, kind: str, delegation: str, move: str, phase: str, speaker: str, view: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kind": kind,
        "delegation": delegation,
        "move": move,
        "phase": phase,
        "speaker": speaker,
        "view": view,
    }


# ------------------------------------------------------------------------------------------------
# what the seat sees
# ------------------------------------------------------------------------------------------------


def _task(ctx: RunContext, phase: str, move: str, rnd: int, to: str | None) -> str:
    other = views.delegation_name(ctx, to) if to else ""
    if phase == "caucus":
        rounds = ctx.move(move).caucus_rounds
        return f"Caucus, round {rnd} of {rounds}: speak to your own delegation (private)."
    if phase == "card":
        return "Fill in your delegation's position card for this move."
    if phase == "report":
        return "Plenary: report your delegation's position to the other delegations."
    if phase == "question":
        return f"Plenary, round {rnd}: put one pointed question to the {other} delegation."
    if phase == "answer":
        return f"Plenary, round {rnd}: answer the question the {other} delegation put to you."
    if phase == "hotwash":
        return "Hot-wash: say where you think the allies diverged in this exercise."
    return f"Your turn ({phase})."


def seat_view(
    ctx: RunContext, *, move: str, delegation: str, phase: str, rnd: int = 0, to: str | None = None
) -> dict[str, Any]:
    """What the head of ``delegation`` sees at this turn, as plain data (text is raw: renderers escape)."""
    d = ctx.scenario.delegation(delegation)
    head = ctx.bundle.personas.get(d.head)
    view: dict[str, Any] = {
        "delegation_name": d.name,
        "speaker_name": head.name if head else d.head,
        "speaker_title": head.title if head else "",
        "brief": d.brief,
        "task": _task(ctx, phase, move, rnd, to),
        "inject": None,
        "sections": [],
    }
    sections: list[dict[str, Any]] = view["sections"]
    in_move = phase != "hotwash"
    if in_move:
        m = ctx.move(move)
        view["inject"] = {"title": m.title, "text": m.inject, "set_questions": list(m.set_questions)}
    history = views.history_lines(ctx, delegation, move if in_move else None)
    if history:
        sections.append({"title": "Earlier moves", "lines": history})
    if phase in ("caucus", "card"):
        sections.append(
            {"title": "Your delegation's caucus so far", "lines": views.caucus_lines(ctx, move, delegation)}
        )
    if phase in ("report", "answer"):
        card = views.card_text(ctx, ctx.move(move), delegation)
        sections.append({"title": "Your position card", "lines": card.split("\n")})
    plenary = views.plenary_lines(ctx, move if in_move else "__none__")
    if plenary:
        sections.append({"title": "Plenary so far", "lines": plenary})
    if phase == "question" and to:
        said = views.text_of(ctx, keys.report(move, to)) or "(no report was given)"
        sections.append({"title": f"{views.delegation_name(ctx, to)} reported", "lines": [said]})
    if phase == "answer" and to:
        said = views.text_of(ctx, keys.question(move, to, rnd))
        sections.append({"title": f"{views.delegation_name(ctx, to)} asks you", "lines": [said]})
    if phase == "card":
        view["form"] = card_form(ctx, delegation)
    return view


def payload_view(payload: dict[str, Any]) -> dict[str, Any]:
    """The seat view of an interrupt payload; a run paused by an older version has none (its payload
    held the model's prompt, which a person is not shown), so a minimal one is made."""
    view = payload.get("view")
    if isinstance(view, dict):
        return view
    delegation = str(payload.get("delegation", ""))
    return {
        "delegation_name": delegation,
        "speaker_name": str(payload.get("speaker", "")),
        "speaker_title": "",
        "brief": "",
        "task": f"Your turn ({payload.get('phase', 'turn')}).",
        "inject": None,
        "sections": [],
    }


def card_form(ctx: RunContext, delegation: str) -> dict[str, Any]:
    """The position card as a person fills it in: each axis with its rubric's anchor per level."""
    axes = []
    for axis in ctx.scenario.axes:
        r = ctx.bundle.rubrics.get(axis)
        axes.append(
            {
                "id": axis,
                "title": r.title if r else axis,
                "levels": [[level, text] for level, text in sorted(r.levels.items())] if r else [],
            }
        )
    head = ctx.bundle.personas.get(ctx.scenario.delegation(delegation).head)
    return {
        "axes": axes,
        "partners": [[o.id, o.name] for o in ctx.scenario.delegations if o.id != delegation],
        "red_lines": list(head.red_lines) if head else [],
    }


def card_fields(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The position-card fields a human fills in, with their choices where the field is an enum."""
    schema = model.model_json_schema()
    out = []
    for name, prop in schema.get("properties", {}).items():
        choices = prop.get("enum")
        out.append(
            {
                "name": name,
                "description": prop.get("description", ""),
                "choices": choices,
                "required": name in schema.get("required", []),
            }
        )
    return out


# ------------------------------------------------------------------------------------------------
# checking a person's card answers (terminal and web alike)
# ------------------------------------------------------------------------------------------------


class CardInputError(ValueError):
    """One message per card field a person got wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def blank_allowed(field: Mapping[str, Any]) -> bool:
    name = str(field["name"])
    return name.endswith("_level") or name in OPTIONAL_CHOICES


def parse_field(field: Mapping[str, Any], raw: str) -> Any:
    """A person's text for one card field → its value; ``ValueError`` with a message saying what fits.

    A blank level means *not addressed* (``None``); a blank request target means no request."""
    raw = raw.strip()
    if len(raw) > MAX_FIELD_CHARS:
        raise ValueError(f"at most {MAX_FIELD_CHARS} characters")
    choices = field.get("choices")
    if not choices:
        return raw
    if raw == "" and blank_allowed(field):
        return None
    for choice in choices:
        if str(choice) == raw:
            return choice
    raise ValueError(f"choose one of {', '.join(str(c) for c in choices)}")


def card_answers(fields: list[dict[str, Any]], form: Mapping[str, Any]) -> dict[str, Any]:
    """Every card field parsed from ``form`` (missing = blank); unknown names are errors."""
    names = {str(f["name"]) for f in fields}
    errors = {k: "not a field of this card" for k in form if k not in names}
    out: dict[str, Any] = {}
    for f in fields:
        name = str(f["name"])
        raw = form.get(name)
        if raw is not None and not isinstance(raw, str | int):
            errors[name] = "expected text"
            continue
        try:
            out[name] = parse_field(f, "" if raw is None else str(raw))
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise CardInputError(errors)
    return out
