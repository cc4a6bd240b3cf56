"""A human in a delegation's seat: LangGraph ``interrupt`` payloads and how resume values are matched.

Each human turn is one ``interrupt`` whose payload names the turn's transcript key; the resume value
must carry the same key. A node that interrupts re-runs from its top on resume, and LangGraph hands
earlier resume values back in call order, so ``ask`` skips values meant for other keys: turns already
answered are in the transcript by then and are not asked again.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt
from pydantic import BaseModel

from harness.llm.base import Message


def ask(key: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Pause the run for the human's input for transcript key ``key``; return the matching value."""
    while True:
        value = interrupt({**payload, "key": key})
        if isinstance(value, dict) and value.get("key") == key:
            return value


def turn_payload(
    *, kind: str, delegation: str, move: str, phase: str, speaker: str, messages: list[Message]
) -> dict[str, Any]:
    return {
        "kind": kind,
        "delegation": delegation,
        "move": move,
        "phase": phase,
        "speaker": speaker,
        "system": messages[0]["content"] if messages else "",
        "prompt": messages[-1]["content"] if messages else "",
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
