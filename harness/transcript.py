"""Append-only JSONL transcript writer and reader (docs/contract.md).

* Every event has a deterministic ``key``; the writer skips a key already present (and returns the
  recorded event, so a re-run node can reuse it) and readers keep the first occurrence.
* Durability (group commit; docs/contract.md, "What the writer guarantees"): ``write`` appends the line
  and flushes it to the operating system before it returns, so the event survives the process being
  killed; it is made durable against power loss by an ``fsync`` that covers every event written before
  it started. :meth:`TranscriptWriter.sync` (blocking) and :meth:`TranscriptWriter.adurable` (awaitable,
  the fsync in a thread off the event loop) return once every event written so far is fsynced; the
  runner awaits it before each model call and before each graph step's checkpoint is committed, so
  concurrent writers share one fsync instead of paying one per event.
* A torn last line (a crash mid-write) is ignored by readers and truncated by the writer on open.
* :func:`add_write_hook` registers a function called after each event is written and flushed (it
  survives the process from then on): the seam the kill/resume tests use to crash a process at a
  deterministic point (``tests/crashing.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
    """Call ``hook(event)`` after every event any writer of this process has written and flushed (it
    survives the process from then on; :meth:`TranscriptWriter.sync` makes it durable); returns a remover."""
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


_FSYNC_POOL: ThreadPoolExecutor | None = None
_FSYNC_POOL_LOCK = threading.Lock()


def _fsync_pool() -> ThreadPoolExecutor:
    """Threads that only fsync (apart from the default executor, which scoring may keep busy)."""
    global _FSYNC_POOL
    with _FSYNC_POOL_LOCK:
        if _FSYNC_POOL is None:
            _FSYNC_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="transcript-fsync")
        return _FSYNC_POOL


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
        # durability (group commit): events written / covered by a finished fsync, counted from open
        self._sync_lock = threading.Lock()
        self._written = 0
        self._synced = 0
        self._durable_seq = self._next_seq - 1
        self._durable_bytes = self._fh.tell()

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
            self._fh.flush()  # in the OS from here: survives the process, not yet a power loss
            self._written += 1
            self._next_seq += 1
            self._by_key[event.key] = event
            self._order.append(event)
            for hook in _write_hooks:
                hook(event)
            return event

    # -- durability (group commit) -----------------------------------------------------------------
    @property
    def durable_seq(self) -> int:
        """The ``seq`` of the last event covered by a finished fsync (events before it are durable too)."""
        return self._durable_seq

    @property
    def durable_bytes(self) -> int:
        """The length of the file's prefix known to be on disk (what a power loss cannot take)."""
        return self._durable_bytes

    def sync(self) -> None:
        """Return once every event written before this call is fsynced (one fsync covers them all).

        Callers that arrive while another caller's fsync runs wait for it and fsync again only if it
        started before their events were written: a group commit.
        """
        with self._lock:
            need = self._written
        if self._synced >= need:
            return
        with self._sync_lock:
            if self._synced >= need:
                return  # an fsync that started after our events were written covered them
            with self._lock:
                if self._fh.closed:
                    return
                target, seq, size = self._written, self._next_seq - 1, self._fh.tell()
                fd = self._fh.fileno()
            os.fsync(fd)  # outside the write lock: writers go on appending meanwhile
            self._synced, self._durable_seq, self._durable_bytes = target, seq, size

    async def adurable(self) -> None:
        """:meth:`sync` awaited without blocking the event loop (the fsync runs in a thread)."""
        if self._synced < self._written:
            await asyncio.get_running_loop().run_in_executor(_fsync_pool(), self.sync)

    def close(self) -> None:
        """Make every event durable, then close the file."""
        with self._sync_lock, self._lock:
            if not self._fh.closed:
                if self._synced < self._written:
                    os.fsync(self._fh.fileno())
                    self._synced, self._durable_seq = self._written, self._next_seq - 1
                    self._durable_bytes = self._fh.tell()
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
