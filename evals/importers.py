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
from collections.abc import Iterator
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

_HEADING_MARK = re.compile(r"#{1,6}\s+")
_MOVE = re.compile(r"^move\s+(?P<id>[A-Za-z0-9][\w.\-]*)\s*(?:[:.\-–—]\s*(?P<title>.*))?$", re.IGNORECASE)
_SPEAKER = re.compile(
    r"^(?:[*_]{0,2})(?P<speaker>[^():*_][^():]{0,80}?)\s*\((?P<delegation>[^()]{1,40})\)(?:[*_]{0,2})\s*:\s*(?P<text>.*)$"
)
_CONTROL = re.compile(
    r"^(?:[*_]{0,2})(?P<speaker>control|white cell|facilitator)(?:[*_]{0,2})\s*:\s*(?P<text>.*)$",
    re.IGNORECASE,
)
# a quoted CSV field: it opens at the start of a record line or after a comma; "" is a quote inside it
_QUOTED_FIELD = re.compile(r'(?:^|(?<=,))"(?:[^"]|"")*+(?P<close>"?)', re.MULTILINE)
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
_COMMENT = re.compile(r"<!--|-->")
MAX_STATEMENT_CHARS = 1_000_000
"""The longest statement (or inject) an import accepts, in characters; longer ones are refused by line."""
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
    description: str = ""  # what the record says of itself before its first move (Markdown only)


def _move_id(raw: str) -> str:
    return f"m{raw}" if raw.isdigit() else raw


def _heading_title(line: str) -> str | None:
    """The title of a Markdown heading line (``## Title ##``), or None when it is not one.

    String methods, not one regex: a lazy title followed by optional closing hashes took cubic time on a
    long line of spaces and hashes (minutes for 8,000 characters).
    """
    m = _HEADING_MARK.match(line)
    return line[m.end() :].rstrip().rstrip("#").rstrip() if m else None


def _too_long(path: str, what: str, line: int) -> DataError:
    return DataError(
        path,
        f"{what} is longer than {MAX_STATEMENT_CHARS:,} characters (the limit for one statement)",
        line=line,
    )


class _Text:
    """A statement or inject collected line by line, refused past the limit, joined once at the end
    (appending to one string each line took quadratic time on a long statement)."""

    def __init__(self, path: str, what: str, where: int) -> None:
        self.path, self.what, self.where = path, what, where
        self.parts: list[str] = []
        self.size = -1  # the line breaks between parts

    def add(self, part: str) -> None:
        self.size += len(part) + 1
        if self.size > MAX_STATEMENT_CHARS:
            raise _too_long(self.path, self.what, self.where)
        self.parts.append(part)

    def text(self) -> str:
        return "\n".join(self.parts)


def parse_markdown(text: str, path: str) -> Record:
    moves: dict[str, tuple[str, str]] = {}
    injects: dict[str, _Text] = {}
    lines: list[Line] = []
    bodies: list[_Text] = []  # the text of each of ``lines``
    preamble = _Text(path, "the text before the first move", 1)
    move: str | None = None
    phase: Phase = "report"
    channel: Channel = "plenary"
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        title = _heading_title(line)
        if title is not None:
            m = _MOVE.match(title)
            if m:
                move = _move_id(m.group("id"))
                if move in moves:
                    raise DataError(path, f"move {move!r} appears twice", line=n)
                moves[move] = ((m.group("title") or "").strip() or title, "")
                phase, channel = "report", "plenary"
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
                said = control.group("text").strip()
                lines.append(Line(move, None, control.group("speaker").strip(), "", "control", "plenary", n))
            else:
                assert speaker is not None
                delegation = speaker.group("delegation").strip()
                if not _IDENT.match(delegation):
                    raise DataError(
                        path, f"delegation {delegation!r} is not an id (letters, digits, . _ -)", line=n
                    )
                said = speaker.group("text").strip()
                lines.append(Line(move, delegation, speaker.group("speaker").strip(), "", phase, channel, n))
            bodies.append(_Text(path, "a statement", n))
            bodies[-1].add(said)
            continue
        if move is None:  # a preamble before the first move: kept as the record's description
            preamble.add(_COMMENT.sub("", line).strip())
            continue
        if lines and lines[-1].move == move:
            bodies[-1].add(line)
        else:
            if move not in injects:
                injects[move] = _Text(path, f"the inject of move {move!r}", n)
            injects[move].add(line)
    for ln, body in zip(lines, bodies, strict=True):
        ln.text = body.text().strip()
    for m_id, inject in injects.items():
        moves[m_id] = (moves[m_id][0], inject.text())
    return Record(moves, lines, " ".join(preamble.text().split()))


def parse_csv(text: str, path: str) -> Record:
    if csv.field_size_limit() < 2 * MAX_STATEMENT_CHARS:  # longer fields are refused below, by name
        csv.field_size_limit(2 * MAX_STATEMENT_CHARS)
    reader = csv.DictReader(io.StringIO(text), strict=True)  # strict: a stray quote is an error
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise _csv_error(exc, reader, text, path, 0) from exc
    header = [h.strip().lower() for h in fieldnames or []]
    missing = [c for c in ("move", "delegation", "speaker", "text") if c not in header]
    if missing:
        raise DataError(path, f"CSV header lacks column(s) {', '.join(missing)}", line=1)
    moves: dict[str, tuple[str, str]] = {}
    lines: list[Line] = []
    for row, n, before in _csv_rows(reader, text, path):
        if None in row:
            raise DataError(path, "more fields than the header has", line=n)
        r = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        for name, value in r.items():
            if len(value) > MAX_STATEMENT_CHARS:
                raise DataError(
                    path,
                    f"longer than {MAX_STATEMENT_CHARS:,} characters (the limit for one statement)",
                    field=name,
                    line=_first_line_after(text, before),
                )
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


def _csv_rows(reader: csv.DictReader[str], text: str, path: str) -> Iterator[tuple[dict[str, str], int, int]]:
    """``(row, its last line, lines before it)`` for each row; a CSV error becomes a DataError."""
    done = reader.line_num  # lines read so far (the header)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(exc, reader, text, path, done) from exc
        yield row, reader.line_num, done
        done = reader.line_num


def _first_line_after(text: str, done: int) -> int:
    """The first non-blank line after line ``done`` (where the next row begins; blank lines are skipped)."""
    n = done + 1
    pos = _offset_of_line(text, n)
    while pos < len(text) and text[pos] in "\r\n":
        n += 1
        pos = _offset_of_line(text, n)
    return n


def _offset_of_line(text: str, n: int) -> int:
    pos = 0
    for _ in range(n - 1):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


def _csv_error(exc: csv.Error, reader: csv.DictReader[str], text: str, path: str, done: int) -> DataError:
    """A one-line error for what Python's csv module refused, at the line where the trouble began."""
    message = " ".join(str(exc).split())
    if "unexpected end of data" in message:
        opened = _unterminated_quote_line(text)
        return DataError(
            path,
            "a quoted field is never closed (no matching '\"' before the end of the file)",
            line=opened or _first_line_after(text, done),
        )
    if "field larger than field limit" in message:
        return _too_long(path, "a field", _first_line_after(text, done))
    if "expected after" in message:
        return DataError(
            path,
            "a quoted field must end with '\"' right before a comma or the end of the line",
            line=reader.reader.line_num or 1,
        )
    if "new-line character seen in unquoted field" in message:
        return DataError(
            path,
            "a line break (CR) inside an unquoted field: quote the field",
            line=reader.reader.line_num or 1,
        )
    return DataError(path, f"not valid CSV ({message})", line=reader.reader.line_num or 1)


def _unterminated_quote_line(text: str) -> int | None:
    """The line where a quoted field opens that no quote closes (CSV rules: ``""`` is a quote inside)."""
    last = None
    for match in _QUOTED_FIELD.finditer(text):
        last = match
    if last is None or last.group("close"):
        return None
    return text.count("\n", 0, last.start()) + 1


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
                description=record.description or None,
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
