"""The human seat in the browser.

What is pending is read from the run's checkpoints (``checkpoints.sqlite``): the LangGraph interrupts of
the latest checkpoint, each a payload built by :func:`harness.human.seat_view` that names its transcript
key. So a page opened after the server was killed and started again shows the same pending turn, and the
run resumes from its checkpoints when the turn is answered.

A run the server drives gets a :class:`WebSeat` as its ``human_io``: the run's thread waits in it until a
browser's answer for that key arrives. Answers are checked here first, with the same functions and
models as the terminal seat (:func:`harness.human.card_answers`, :func:`harness.cards.to_position_card`
and :class:`~harness.schema.PositionCard`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.cards import to_position_card
from harness.checkpoints import CHECKPOINTS
from harness.graph import build_graph
from harness.human import CardInputError, card_answers, payload_view
from harness.loaders import Bundle

log = logging.getLogger(__name__)

MAX_TURN_CHARS = 4000
LEGACY_PROMPT = ("system", "prompt")
"""Payload fields of runs paused by older versions: the model's prompt, never shown to a person."""


class SeatClosed(EOFError):
    """The server is shutting down: the run stops as ``interrupted`` and can be resumed."""


class BadAnswer(ValueError):
    """A person's answer that does not fit the pending turn (HTTP 422)."""


class AnswerIn(BaseModel):
    """The body of an answer: the pending turn's key and either the text or the card's fields."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=300)
    text: str | None = Field(default=None, max_length=MAX_TURN_CHARS)
    card: dict[str, str | int | None] | None = None


def pending_turns(folder: Path, run_id: str) -> list[dict[str, Any]]:
    """The interrupt payloads waiting in the run's latest checkpoint (read-only; [] if none)."""
    db = folder / CHECKPOINTS
    if not db.is_file():
        return []
    try:
        from langgraph.checkpoint.sqlite import SqliteSaver

        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False, timeout=5)
    except sqlite3.Error as exc:
        log.warning("%s: cannot read checkpoints (%s)", db, exc)
        return []
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'checkpoints'").fetchone() is None:
            return []  # the run has not checkpointed yet
        saver = SqliteSaver(conn)
        saver.is_setup = True  # read only: never create tables or switch the journal mode
        snap = build_graph(saver).get_state({"configurable": {"thread_id": run_id}})
        return [
            {**{k: v for k, v in i.value.items() if k not in LEGACY_PROMPT}, "view": payload_view(i.value)}
            for i in snap.interrupts
            if isinstance(i.value, dict) and "key" in i.value
        ]
    except sqlite3.Error as exc:
        log.warning("%s: cannot read checkpoints (%s)", db, exc)
        return []
    finally:
        conn.close()


def check_answer(payload: dict[str, Any], answer: AnswerIn, bundle: Bundle) -> dict[str, Any]:
    """The resume value for ``payload`` from a person's ``answer``, or :class:`BadAnswer`."""
    if payload.get("kind") != "card":
        text = (answer.text or "").strip()
        if answer.card is not None or not text:
            raise BadAnswer("this turn takes text: write what you say")
        return {"text": text}
    if answer.card is None:
        raise BadAnswer("this turn takes the position card's fields")
    try:
        fields = card_answers(list(payload.get("fields", [])), answer.card)
    except CardInputError as exc:
        raise BadAnswer(f"position card: {exc}") from exc
    delegation = str(payload["delegation"])
    try:
        move = bundle.scenario.move(str(payload["move"]))
        to_position_card(fields, bundle.scenario, move, delegation)  # the card the run will record
    except (KeyError, ValueError, ValidationError) as exc:
        raise BadAnswer(f"position card: {exc}") from exc
    return {"card": fields}


class WebSeat:
    """``human_io`` for a run driven by the server: waits for a browser's answer to each pending key."""

    def __init__(self, answers: dict[str, dict[str, Any]] | None = None) -> None:
        self._cond = threading.Condition()
        self._answers: dict[str, dict[str, Any]] = dict(answers or {})
        self._waiting: set[str] = set()
        self._closed = False
        self.version = 0
        """Bumped whenever a turn starts or stops waiting (live pages re-read what is pending)."""

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        key = str(payload["key"])
        with self._cond:
            self._waiting.add(key)
            self.version += 1
            try:
                while key not in self._answers:
                    if self._closed:
                        raise SeatClosed("the web room was closed")
                    self._cond.wait(0.5)
                return self._answers.pop(key)
            finally:
                self._waiting.discard(key)
                self.version += 1

    def give(self, key: str, value: dict[str, Any]) -> None:
        with self._cond:
            self._answers[key] = value
            self.version += 1
            self._cond.notify_all()

    @property
    def waiting(self) -> set[str]:
        with self._cond:
            return set(self._waiting)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def form_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's fields as form rows for a person: questions, a level per axis with its anchors, …"""
    form = payload_view(payload).get("form", {})
    axes = {a["id"]: a for a in form.get("axes", [])}
    rows: list[dict[str, Any]] = []
    for f in payload.get("fields", []):
        name = str(f["name"])
        row: dict[str, Any] = {"name": name, "type": "text", "label": f.get("description") or name}
        axis = axes.get(name.removesuffix("_level"))
        if name.endswith("_level") and axis is not None:
            row.update(type="level", label=axis["title"], levels=axis["levels"])
        elif name.endswith("_rationale"):
            row["label"] = "Why, in a sentence"
        elif name.startswith("answer_"):
            row["type"] = "long"
        elif name == "request_to":
            row.update(type="select", label="Your request goes to", options=form.get("partners", []))
        elif name == "request":
            row["label"] = "What you ask of them"
        elif name == "red_lines_invoked":
            row.update(label="A red line at stake (or none)", suggestions=form.get("red_lines", []))
        rows.append(row)
    return rows
