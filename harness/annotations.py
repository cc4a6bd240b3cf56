"""Trainers' notes on a run: ``RUN/annotations.jsonl``, one :class:`Annotation` a line.

A note targets one utterance or one position card by its transcript key and carries a tag (e.g. "good
concession", "missed red line"), free text, its author and time. Notes are appended to their own file,
never into the transcript (the record of the exercise stays as it was played). The web room writes them;
the report shows them next to what they mark.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError
from harness.schema import PositionCardEvent, UtteranceEvent
from harness.transcript import Run, utc_now

log = logging.getLogger(__name__)

ANNOTATIONS_NAME = "annotations.jsonl"
SUGGESTED_TAGS = ("good concession", "missed red line", "key moment", "for discussion", "off persona")

_lock = threading.Lock()


def _new_id() -> str:
    return secrets.token_hex(6)


class Annotation(BaseModel):
    """One line of ``annotations.jsonl``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    v: Literal[1] = 1
    id: str = Field(default_factory=_new_id, pattern=r"^[0-9a-f]{6,32}$")
    target: str = Field(min_length=1, max_length=300, description="transcript key of an utterance or card")
    tag: str = Field(min_length=1, max_length=60)
    note: str = Field(default="", max_length=4000)
    author: str = Field(min_length=1, max_length=80)
    t: str = Field(default_factory=utc_now)


def targets(run: Run) -> dict[str, str]:
    """The keys a note may target: every utterance and position card, with their event kind."""
    out: dict[str, str] = {}
    for e in run.events:
        if isinstance(e, UtteranceEvent | PositionCardEvent):
            out[e.key] = e.event
    return out


def read_annotations(folder: str | Path) -> list[Annotation]:
    """The notes of the run in ``folder`` in file order; a line that is not a note is skipped."""
    path = Path(folder) / ANNOTATIONS_NAME
    if not path.is_file():
        return []
    out: list[Annotation] = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(Annotation.model_validate(json.loads(line)))
        except (ValueError, ValidationError):
            log.warning("%s:%d: not an annotation, skipped", path, i)
    return out


def append_annotation(run: Run, note: Annotation) -> Annotation:
    """Append ``note`` to the run's file (flushed and fsynced); its target must be in the transcript."""
    if note.target not in targets(run):
        raise ConfigError(f"no utterance or position card with key {note.target!r} in run {run.run_id}")
    line = note.model_dump_json() + "\n"
    with _lock, (run.folder / ANNOTATIONS_NAME).open("ab") as fh:
        fh.write(line.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    return note
