"""Following a run as it is written: server-sent events read from ``transcript.jsonl`` itself.

The transcript is the only source: each stream reads the file from a byte offset and sends every complete
line as an ``ev`` event whose id is the offset just past it, so a page (re)loaded mid-run gets everything
so far and then what follows, and a reconnecting ``EventSource`` (``Last-Event-ID``) goes on where it
left off. Nothing is copied or buffered beyond a partial last line. A ``state`` event says the run's
status (and, on a seat's page, which turns wait for that seat) whenever it changes.

A seat's stream carries only what that seat may see: the injects, its own caucus and cards, the plenary
(hot-wash included), the adjudications and the run's own markers — never another delegation's caucus
or card.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

POLL_S = 0.1
"""How often the file is checked for new lines (the live view's latency is about this)."""
PING_S = 15.0
CHUNK = 1 << 20
PRIVATE = ("utterance", "position_card")


def visible_to(event: dict[str, Any], seat: str | None) -> bool:
    """Whether the head of delegation ``seat`` may see ``event`` (``None``: the trainer sees all)."""
    if seat is None:
        return True
    kind = event.get("event")
    if kind == "manifest":
        return False
    if kind == "utterance":
        return event.get("channel") == "plenary" or event.get("delegation") == seat
    if kind == "position_card":
        return event.get("delegation") == seat
    return kind != "error"


def sse(event: str, data: str, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"{head}event: {event}\n{body}\n"


class Tail:
    """Complete lines appended to a file since ``offset``."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self.offset = offset
        self._partial = b""

    def read(self) -> list[tuple[int, bytes]]:
        """New complete lines with the offset just past each."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        start = self.offset + len(self._partial)
        if size < start:  # truncated (a torn line cut on resume): read again from the last full line
            self._partial = b""
            start = self.offset = min(self.offset, size)
        if size == start:
            return []
        with self.path.open("rb") as fh:
            fh.seek(start)
            data = self._partial + fh.read(min(size - start, CHUNK))
        out: list[tuple[int, bytes]] = []
        pos = 0
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            line = data[pos:nl]
            pos = nl + 1
            if line.strip():
                out.append((self.offset + pos, line))
        self.offset += pos
        self._partial = data[pos:]
        return out


async def event_stream(
    path: Path,
    offset: int,
    *,
    seat: str | None,
    state: Callable[[], Awaitable[dict[str, Any]]],
    version: Callable[[], int],
    stopping: Callable[[], bool],
    poll_s: float = POLL_S,
) -> AsyncIterator[str]:
    """The SSE body for one page: transcript lines from ``offset``, then ``state`` when it changes."""
    yield "retry: 1000\n\n"
    tail = Tail(path, offset)
    last_state: dict[str, Any] | None = None
    seen_version = -1
    last_check = last_ping = 0.0
    while not stopping():
        lines = tail.read()
        for end, raw in lines:
            try:
                event = json.loads(raw)
            except ValueError:
                continue  # a torn line: the writer truncates it on resume
            if isinstance(event, dict) and visible_to(event, seat):
                yield sse("ev", raw.decode("utf-8", "replace"), end)
        now = time.monotonic()
        v = version()
        if lines or v != seen_version or now - last_check > 2.0:
            seen_version, last_check = v, now
            current = await state()
            if current != last_state:
                last_state = current
                yield sse("state", json.dumps(current))
        if now - last_ping > PING_S:
            last_ping = now
            yield ": ping\n\n"
        await asyncio.sleep(poll_s)
