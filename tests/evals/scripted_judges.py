"""Scripted judges whose biases are known, and HAND-MADE gold files for them (no model, no real gold label).

A scripted judge here reads the statement it is shown, looks up the level the test itself assigned to that
text (``truth``) and answers with a known distortion of it (``shift``: always one level higher, …; or a
``table`` of level → level), quoting the statement verbatim so that its evidence verifies. ``None`` in
``truth`` is "not addressed".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.llm.fake import FakeCall

STATEMENT = re.compile(r"^\[(U\d+)\] [^\n]*?\): (.*)$", re.MULTILINE)
Truth = Mapping[str, int | None]


def statements(prompt: str) -> list[tuple[str, str]]:
    return STATEMENT.findall(prompt)


def distort(level: int, shift: int = 0, table: Mapping[int, int] | None = None) -> int:
    if table is not None:
        return table.get(level, level)
    return min(4, max(0, level + shift))


def verdict(
    prompt: str, truth: Truth, shift: int = 0, table: Mapping[int, int] | None = None
) -> dict[str, Any]:
    """The scripted judge's reply to one judge prompt (the first statement decides)."""
    uid, text = statements(prompt)[0]
    level = truth[text]
    if level is None:
        return {"evidence": [], "level": "not_addressed", "salience": 0}
    return {
        "evidence": [{"utterance_id": uid, "quote": text}],
        "level": str(distort(level, shift, table)),
        "salience": 2,
    }


def biased(
    truth: Truth, shift: int = 0, table: Mapping[int, int] | None = None
) -> Callable[[FakeCall], dict[str, Any]]:
    """A :class:`~harness.llm.fake.ScriptedModel` responder."""
    return lambda call: verdict(call.messages[-1]["content"], truth, shift, table)


def gold_rows(
    tag: str, counts: Mapping[int | None, int], axes: Sequence[str] = ("neo",)
) -> list[dict[str, Any]]:
    """``counts[level]`` hand-made statements per level and axis (texts unique, one line each)."""
    rows = []
    for axis in axes:
        for level, n in counts.items():
            for i in range(n):
                rows.append(
                    {
                        "id": f"{tag}-{axis}-{level}-{i}",
                        "axis": axis,
                        "delegation": "ROK",
                        "level": level,
                        "text": f"Hand-made statement {tag} {axis} {level} number {i}.",
                    }
                )
    return rows


def write_gold(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def truth_of(*row_sets: Sequence[Mapping[str, Any]]) -> dict[str, int | None]:
    return {r["text"]: r["level"] for rows in row_sets for r in rows}


def server_judge(
    truth: Truth | None, shifts: Mapping[str, int], constant: str | None = None
) -> Callable[[dict[str, Any]], str]:
    """A responder for :class:`harness.testserver.FakeOpenAIServer`: each model (``body["model"]``) is a
    scripted judge with its own shift; with ``truth=None`` every judge answers ``constant`` (a level or
    "not_addressed"), quoting the first words of the statement."""

    def respond(body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        if truth is not None:
            return json.dumps(verdict(prompt, truth, shifts[body["model"]]))
        uid, text = statements(prompt)[0]
        quote = " ".join(text.split()[:5])
        level = constant or "not_addressed"
        evidence = [] if level == "not_addressed" else [{"utterance_id": uid, "quote": quote}]
        return json.dumps({"evidence": evidence, "level": level, "salience": 1})

    return respond
