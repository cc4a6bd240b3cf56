"""The live stream's pieces: reading a transcript as it grows, and what a seat may see."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from harness.web.live import Tail, event_stream, sse, visible_to


def test_tail_returns_complete_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    tail = Tail(path)
    assert tail.read() == []  # no file yet
    path.write_bytes(b'{"a": 1}\n{"b"')
    assert tail.read() == [(9, b'{"a": 1}')]
    assert tail.read() == []
    with path.open("ab") as fh:
        fh.write(b': 2}\n\n{"c": 3}\n')
    assert tail.read() == [(18, b'{"b": 2}'), (28, b'{"c": 3}')]
    later = Tail(path, 9)  # a reconnecting page (Last-Event-ID) goes on after the first line
    assert [line for _, line in later.read()] == [b'{"b": 2}', b'{"c": 3}']


def test_a_seat_sees_its_own_caucus_and_the_plenary_only() -> None:
    def utt(delegation: str, channel: str) -> dict[str, Any]:
        return {"event": "utterance", "delegation": delegation, "channel": channel}

    assert visible_to(utt("ROK", "caucus"), "ROK")
    assert not visible_to(utt("US", "caucus"), "ROK")
    assert visible_to(utt("US", "plenary"), "ROK")
    assert visible_to({"event": "position_card", "delegation": "ROK"}, "ROK")
    assert not visible_to({"event": "position_card", "delegation": "JPN"}, "ROK")
    assert not visible_to({"event": "manifest"}, "ROK") and visible_to({"event": "manifest"}, None)
    assert visible_to({"event": "inject"}, "ROK") and visible_to({"event": "adjudication"}, "ROK")
    assert visible_to(utt("US", "caucus"), None)


def test_sse_framing() -> None:
    assert sse("ev", '{"a": 1}', 10) == 'id: 10\nevent: ev\ndata: {"a": 1}\n\n'
    assert sse("state", "a\nb") == "event: state\ndata: a\ndata: b\n\n"


def test_stream_follows_the_file_and_reports_state_changes(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"event": "inject", "key": "m1/inject"}) + "\n")
    states = iter([{"state": "running"}, {"state": "running"}, {"state": "completed"}])
    ticks = {"n": 0}

    async def state() -> dict[str, Any]:
        return next(states, {"state": "completed"})

    def stopping() -> bool:
        ticks["n"] += 1
        if ticks["n"] == 3:
            with path.open("a") as fh:
                fh.write(json.dumps({"event": "run_end", "key": "run_end/1"}) + "\n")
        return ticks["n"] > 6

    async def collect() -> list[str]:
        chunks = []
        gen = event_stream(
            path, 0, seat=None, state=state, version=lambda: ticks["n"], stopping=stopping, poll_s=0
        )
        async for chunk in gen:
            chunks.append(chunk)
        return chunks

    text = "".join(asyncio.run(collect()))
    assert (
        text.index("m1/inject")
        < text.index('"running"')
        < text.index("run_end/1")
        < text.index('"completed"')
    )
    assert text.count('"running"') == 1  # a state is sent when it changes, not on every tick
