"""Human transcripts → run folders, so a real exercise's record can be scored like a simulation.

Two formats:

* **Markdown / text**: move headings ``## Move 1: title`` (any heading level; the title is optional),
  then lines ``Speaker Name (DELEGATION): what they said``. Free text right after a move heading and
  before its first speaker line is the move's inject. A line that is neither continues the previous
  statement. Optional sub-headings ``### Caucus``, ``### Plenary``, ``### Hot-wash`` set the phase of what
  follows (default: plenary reports). ``Control: …`` (or White cell / Facilitator) lines are Control's.
* **CSV** with a header: ``move,delegation,speaker,text`` and optionally ``phase,channel``; an empty
  delegation is Control.

``anonymise=True`` replaces every speaker name (also where it appears in the text) by a role label such
as "ROK speaker 1" (records of real exercises are often under the Chatham House rule).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import harness
from harness import keys
from harness.errors import DataError, HarnessError
from harness.schema import (
    BackendInfo,
    Channel,
    InjectEvent,
    ManifestEvent,
    Phase,
    RunEndEvent,
    ScenarioRef,
    UtteranceEvent,
)
from harness.transcript import TRANSCRIPT_NAME, TranscriptWriter, utc_now

_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.*?)\s*#*\s*$")
_MOVE = re.compile(r"^move\s+(?P<id>[A-Za-z0-9][\w.\-]*)\s*(?:[:.\-–—]\s*(?P<title>.*))?$", re.IGNORECASE)
_SPEAKER = re.compile(
    r"^(?:[*_]{0,2})(?P<speaker>[^():*_][^():]{0,80}?)\s*\((?P<delegation>[^()]{1,40})\)(?:[*_]{0,2})\s*:\s*(?P<text>.*)$"
)
_CONTROL = re.compile(
    r"^(?:[*_]{0,2})(?P<speaker>control|white cell|facilitator)(?:[*_]{0,2})\s*:\s*(?P<text>.*)$",
    re.IGNORECASE,
)
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_SECTIONS: dict[str, tuple[Phase, Channel]] = {
    "caucus": ("caucus", "caucus"),
    "breakout": ("caucus", "caucus"),
    "plenary": ("report", "plenary"),
    "report": ("report", "plenary"),
    "question": ("question", "plenary"),
    "answer": ("answer", "plenary"),
    "hot-wash": ("hotwash", "plenary"),
    "hotwash": ("hotwash", "plenary"),
    "hot wash": ("hotwash", "plenary"),
}
PHASES: tuple[str, ...] = get_args(Phase)
CHANNELS: tuple[str, ...] = get_args(Channel)


@dataclass
class Line:
    """One statement of a written record, before it becomes an utterance event."""

    move: str
    delegation: str | None
    speaker: str
    text: str
    phase: Phase
    channel: Channel
    where: int  # line number in the source file


@dataclass
class Record:
    moves: dict[str, tuple[str, str]]  # move id -> (title, inject text)
    lines: list[Line]


def _move_id(raw: str) -> str:
    return f"m{raw}" if raw.isdigit() else raw


def parse_markdown(text: str, path: str) -> Record:
    moves: dict[str, tuple[str, str]] = {}
    lines: list[Line] = []
    move: str | None = None
    phase: Phase = "report"
    channel: Channel = "plenary"
    inject: list[str] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        heading = _HEADING.match(line)
        if heading:
            title = heading.group("title")
            m = _MOVE.match(title)
            if m:
                move = _move_id(m.group("id"))
                if move in moves:
                    raise DataError(path, f"move {move!r} appears twice", line=n)
                moves[move] = ((m.group("title") or "").strip() or title, "")
                inject, phase, channel = [], "report", "plenary"
            elif re.match(r"move\b", title, re.IGNORECASE):
                raise DataError(path, "a move heading needs an id: '## Move 1: title'", line=n)
            else:
                section = next((v for k, v in _SECTIONS.items() if title.lower().startswith(k)), None)
                if section is not None:
                    phase, channel = section
            continue
        speaker = _SPEAKER.match(line)
        control = _CONTROL.match(line)
        if speaker or control:
            if move is None:
                raise DataError(path, "a statement before any move heading ('## Move 1: title')", line=n)
            if control:
                lines.append(
                    Line(
                        move,
                        None,
                        control.group("speaker").strip(),
                        control.group("text").strip(),
                        "control",
                        "plenary",
                        n,
                    )
                )
            else:
                assert speaker is not None
                delegation = speaker.group("delegation").strip()
                if not _IDENT.match(delegation):
                    raise DataError(
                        path, f"delegation {delegation!r} is not an id (letters, digits, . _ -)", line=n
                    )
                lines.append(
                    Line(
                        move,
                        delegation,
                        speaker.group("speaker").strip(),
                        speaker.group("text").strip(),
                        phase,
                        channel,
                        n,
                    )
                )
            continue
        if move is None:
            continue  # a title or preamble before the first move
        if lines and lines[-1].move == move:
            lines[-1].text = f"{lines[-1].text}\n{line}".strip()
        else:
            inject.append(line)
            moves[move] = (moves[move][0], "\n".join(inject))
    return Record(moves, lines)


def parse_csv(text: str, path: str) -> Record:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("move", "delegation", "speaker", "text") if c not in header]
    if missing:
        raise DataError(path, f"CSV header lacks column(s) {', '.join(missing)}", line=1)
    moves: dict[str, tuple[str, str]] = {}
    lines: list[Line] = []
    for row in reader:
        n = reader.line_num
        if None in row:
            raise DataError(path, "more fields than the header has", line=n)
        r = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if not r["text"]:
            raise DataError(path, "empty text", field="text", line=n)
        if not r["move"]:
            raise DataError(path, "empty move", field="move", line=n)
        move = _move_id(r["move"])
        if not _IDENT.match(move):
            raise DataError(path, f"move {r['move']!r} is not an id", field="move", line=n)
        delegation = r["delegation"] or None
        if delegation is not None and not _IDENT.match(delegation):
            raise DataError(path, f"delegation {delegation!r} is not an id", field="delegation", line=n)
        phase = r.get("phase") or ("report" if delegation else "control")
        channel = r.get("channel") or ("caucus" if phase == "caucus" else "plenary")
        if phase not in PHASES:
            raise DataError(path, f"phase {phase!r}: one of {', '.join(PHASES)}", field="phase", line=n)
        if channel not in CHANNELS:
            raise DataError(
                path, f"channel {channel!r}: one of {', '.join(CHANNELS)}", field="channel", line=n
            )
        moves.setdefault(move, (move, ""))
        speaker = r["speaker"] or (f"{delegation} speaker" if delegation else "Control")
        lines.append(Line(move, delegation, speaker, r["text"], phase, channel, n))  # type: ignore[arg-type]
    return Record(moves, lines)


def anonymise(record: Record) -> None:
    """Replace speaker names by "<DELEGATION> speaker <k>" (Control stays Control), in the text too."""
    labels: dict[tuple[str | None, str], str] = {}
    counts: dict[str, int] = {}
    for ln in record.lines:
        if ln.delegation is None:
            continue
        key = (ln.delegation, ln.speaker)
        if key not in labels:
            counts[ln.delegation] = counts.get(ln.delegation, 0) + 1
            labels[key] = f"{ln.delegation} speaker {counts[ln.delegation]}"
    names = sorted({name for _, name in labels}, key=len, reverse=True)
    by_name = {name: label for (_, name), label in labels.items()}
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b") if names else None
    for ln in record.lines:
        if ln.delegation is not None:
            ln.speaker = labels[(ln.delegation, ln.speaker)]
        if pattern is not None:
            ln.text = pattern.sub(lambda m: by_name[m.group(0)], ln.text)


def import_record(
    path: str | Path,
    out: str | Path = "transcripts",
    *,
    anonymise_names: bool = False,
    run_id: str | None = None,
) -> Path:
    """Write ``<out>/<run_id>/transcript.jsonl`` from a written record; return the run folder."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        text = raw.decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise DataError(str(p), "no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(str(p), f"cannot read as UTF-8 text ({exc})") from exc
    suffix = p.suffix.lower()
    if suffix not in (".md", ".txt", ".markdown", ".csv"):
        raise DataError(str(p), "expected a .md, .txt or .csv record")
    record = parse_csv(text, str(p)) if suffix == ".csv" else parse_markdown(text, str(p))
    if not record.lines:
        raise DataError(
            str(p),
            "no statements found: expected 'Speaker (DELEGATION): text' lines under '## Move N' headings",
        )
    if anonymise_names:
        anonymise(record)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", p.stem).strip("-").lower()[:40] or "import"
    digest = hashlib.sha256(raw).hexdigest()
    run_id = run_id or f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{slug}-{digest[:6]}"
    folder = Path(out) / run_id
    if (folder / TRANSCRIPT_NAME).exists():
        raise HarnessError(f"{folder}: a run with this id exists already")
    with TranscriptWriter(folder / TRANSCRIPT_NAME) as w:
        w.write(
            ManifestEvent(
                key=keys.MANIFEST,
                run_id=run_id,
                created=utc_now(),
                harness_version=harness.__version__,
                source="import",
                scenario=ScenarioRef(id=slug, version="import", path=str(p), sha256=digest),
                backend=BackendInfo(profile="import"),
            )
        )
        for move, (title, inject) in record.moves.items():
            w.write(InjectEvent(key=keys.inject(move), move=move, title=title, text=inject))
            for i, ln in enumerate((x for x in record.lines if x.move == move), start=1):
                key = keys.imported(move, ln.channel, ln.delegation, i)
                w.write(
                    UtteranceEvent(
                        key=key,
                        utterance_id=key,
                        move=move,
                        phase=ln.phase,
                        channel=ln.channel,
                        delegation=ln.delegation,
                        speaker=ln.speaker,
                        author="import",
                        text=ln.text,
                    )
                )
        w.write(RunEndEvent(key=keys.run_end(1), status="completed"))
    return folder
