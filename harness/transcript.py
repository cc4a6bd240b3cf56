"""Append-only JSONL transcript writer and reader (docs/contract.md).

* Every event has a deterministic ``key``; the writer skips a key already present (and returns the
  recorded event, so a re-run node can reuse it) and readers keep the first occurrence.
* Each event is flushed and fsynced before ``write`` returns.
* A torn last line (a crash mid-write) is ignored by readers and truncated by the writer on open.
* :func:`add_write_hook` registers a function called after each event is on disk: the seam the
  kill/resume tests use to crash a process at a deterministic point (``tests/crashing.py``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from harness.errors import DataError
from harness.jsonl import JsonLineError, loads_line
from harness.schema import (
    AdjudicationEvent,
    Event,
    EventBase,
    InjectEvent,
    ManifestEvent,
    PositionCardEvent,
    RunEndEvent,
    UtteranceEvent,
)

log = logging.getLogger(__name__)

TRANSCRIPT_NAME = "transcript.jsonl"
WriteHook = Callable[[EventBase], None]
_write_hooks: list[WriteHook] = []


def add_write_hook(hook: WriteHook) -> Callable[[], None]:
    """Call ``hook(event)`` after every event any writer of this process puts on disk; returns a remover."""
    _write_hooks.append(hook)
    return lambda: _write_hooks.remove(hook)


_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
E = TypeVar("E", bound=EventBase)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_event(obj: Any) -> EventBase:
    return _EVENT_ADAPTER.validate_python(obj)


def _split_lines(data: bytes) -> tuple[list[bytes], int]:
    """Complete lines and the byte length they span (a trailing partial line is excluded)."""
    end = data.rfind(b"\n")
    if end < 0:
        return [], 0
    return data[: end + 1].splitlines(), end + 1


def _read_good_prefix(path: Path) -> tuple[list[EventBase], int]:
    """Parse ``path``; return events (all, duplicates included) and the length of the valid prefix.

    A bad or partial *last* line is a torn write and is dropped; a bad line elsewhere is corruption.
    """
    data = path.read_bytes()
    lines, good_len = _split_lines(data)
    events: list[EventBase] = []
    offset = 0
    for i, raw in enumerate(lines, start=1):
        line_len = len(raw) + 1
        if not raw.strip():
            offset += line_len
            continue
        try:
            events.append(parse_event(loads_line(raw)))
        except (ValueError, ValidationError) as exc:
            over_limit = isinstance(exc, JsonLineError) and exc.limit  # hostile, never a torn write
            if i == len(lines) and good_len == len(data) and not over_limit:
                log.warning("%s:%d: ignoring a torn last line", path, i)
                return events, offset
            cause = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise DataError(str(path), f"not a valid transcript event ({cause})", line=i) from exc
        offset += line_len
    return events, good_len


def read_events(path: str | Path) -> list[EventBase]:
    """All events of a transcript in order, first occurrence of each key only."""
    p = Path(path)
    if not p.exists():
        raise DataError(str(p), "no such transcript")
    events, _ = _read_good_prefix(p)
    seen: set[str] = set()
    out: list[EventBase] = []
    for ev in events:
        if ev.key in seen:
            continue
        seen.add(ev.key)
        out.append(ev)
    return out


class TranscriptWriter:
    """Thread-safe append-only writer. Open it on an existing file to resume."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._by_key: dict[str, EventBase] = {}
        self._order: list[EventBase] = []
        if self.path.exists():
            events, good_len = _read_good_prefix(self.path)
            if good_len < self.path.stat().st_size:
                with self.path.open("r+b") as fh:
                    fh.truncate(good_len)
                    fh.flush()
                    os.fsync(fh.fileno())
                log.info("%s: truncated a torn last line", self.path)
            for ev in events:
                if ev.key not in self._by_key:
                    self._by_key[ev.key] = ev
                    self._order.append(ev)
        self._next_seq = max((e.seq for e in self._order), default=0) + 1
        self._fh = self.path.open("ab")

    # -- queries ---------------------------------------------------------------------------------
    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._by_key

    def get(self, key: str) -> EventBase | None:
        with self._lock:
            return self._by_key.get(key)

    def events(self) -> list[EventBase]:
        with self._lock:
            return list(self._order)

    def events_from(self, start: int) -> list[EventBase]:
        """The events after the first ``start`` (incremental readers: :mod:`harness.eventindex`)."""
        with self._lock:
            return self._order[start:]

    @property
    def next_seq(self) -> int:
        return self._next_seq

    # -- writing ---------------------------------------------------------------------------------
    def write(self, event: E) -> E:
        """Append ``event`` unless its key is already recorded; return the recorded event."""
        with self._lock:
            existing = self._by_key.get(event.key)
            if existing is not None:
                return existing  # type: ignore[return-value]
            event = event.model_copy(update={"seq": self._next_seq, "t": event.t or utc_now()})
            line = event.model_dump_json(exclude_none=False) + "\n"
            self._fh.write(line.encode("utf-8"))
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._next_seq += 1
            self._by_key[event.key] = event
            self._order.append(event)
            for hook in _write_hooks:
                hook(event)
            return event

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()

    def __enter__(self) -> TranscriptWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------
# Reading a run
# ------------------------------------------------------------------------------------------------


def resolve_transcript(path: str | Path, root: str | Path | None = None) -> Path:
    """Accept a run folder, its ``transcript.jsonl``, or a run id under ``root``."""
    p = Path(path)
    if p.is_dir():
        p = p / TRANSCRIPT_NAME
    elif not p.exists() and root is not None and (Path(root) / str(path)).is_dir():
        p = Path(root) / str(path) / TRANSCRIPT_NAME
    if not p.exists():
        raise DataError(str(path), "no run here: expected a run folder, its transcript.jsonl or a run id")
    return p


@dataclass
class Run:
    """A transcript read back: events in order plus convenient views."""

    path: Path
    events: list[EventBase] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path, root: str | Path | None = None) -> Run:
        p = resolve_transcript(path, root)
        events = read_events(p)
        if not events or not isinstance(events[0], ManifestEvent):
            raise DataError(str(p), "first event is not a manifest", line=1)
        return cls(path=p, events=events)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def manifest(self) -> ManifestEvent:
        first = self.events[0]
        assert isinstance(first, ManifestEvent)
        return first

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def utterances(self) -> list[UtteranceEvent]:
        return self.of(UtteranceEvent)

    def injects(self) -> list[InjectEvent]:
        return self.of(InjectEvent)

    def cards(self) -> list[PositionCardEvent]:
        return self.of(PositionCardEvent)

    def adjudications(self) -> list[AdjudicationEvent]:
        return self.of(AdjudicationEvent)

    def moves(self) -> list[str]:
        """Move ids in the order they were played (the hot-wash is not a move)."""
        injected = [e.move for e in self.injects()]
        if injected:
            return list(dict.fromkeys(injected))
        seen: list[str] = []
        for e in self.events:
            move = getattr(e, "move", None)
            if isinstance(move, str) and move != "hotwash" and move not in seen:
                seen.append(move)
        return seen

    def delegations(self) -> list[str]:
        seen: list[str] = []
        for e in self.events:
            d = getattr(e, "delegation", None)
            if isinstance(d, str) and d not in seen:
                seen.append(d)
        return seen

    def run_end(self) -> RunEndEvent | None:
        ends = self.of(RunEndEvent)
        return ends[-1] if ends else None

    def __iter__(self) -> Iterator[EventBase]:
        return iter(self.events)
