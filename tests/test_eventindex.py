"""The prompts' event index (harness/eventindex.py) answers exactly what a scan of every event did, in
transcript order, whatever the interleaving of writes (duplicate keys included) and queries."""

from __future__ import annotations

import gc
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import eventindex
from harness.eventindex import index_of
from harness.schema import (
    AdjudicationEvent,
    EventBase,
    InjectEvent,
    UtteranceEvent,
)
from harness.transcript import TranscriptWriter

MOVES = ("m1", "m2", "m3")
DELEGATIONS = ("A", "B", None)
PHASES = ("caucus", "report", "question", "answer", "hotwash", "control")


# The scans the index replaces (harness/views.py before it), as the specification.
def scan_caucus(events: list[EventBase], move: str, delegation: str | None) -> list[EventBase]:
    return [
        e
        for e in events
        if isinstance(e, UtteranceEvent)
        and e.channel == "caucus"
        and e.move == move
        and e.delegation == delegation
    ]


def scan_plenary(events: list[EventBase]) -> list[EventBase]:
    return [
        e for e in events if isinstance(e, UtteranceEvent) and e.channel == "plenary" and e.phase != "hotwash"
    ]


def scan_adjudications(events: list[EventBase]) -> list[EventBase]:
    return [e for e in events if isinstance(e, AdjudicationEvent)]


def make_event(kind: str, key: int, move: str, delegation: str | None, phase: Any) -> EventBase:
    k = f"k{key}"
    if kind == "adjudication":
        return AdjudicationEvent(key=k, move=move, text=f"adj {k}", scripted=False)
    if kind == "inject":
        return InjectEvent(key=k, move=move, title="t", text=f"inject {k}")
    return UtteranceEvent(
        key=k,
        utterance_id=k,
        move=move,
        phase=phase,
        channel=kind,
        delegation=delegation,
        speaker="s",
        text=f"said {k}",
    )


WRITE = st.tuples(
    st.just("write"),
    st.sampled_from(("caucus", "plenary", "adjudication", "inject")),
    st.integers(0, 40),  # a small key space: some writes repeat a key (keep-first, no second entry)
    st.sampled_from(MOVES),
    st.sampled_from(DELEGATIONS),
    st.sampled_from(PHASES),
)
QUERY = st.tuples(
    st.just("query"),
    st.sampled_from(("caucus", "plenary", "adjudications")),
    st.sampled_from(MOVES),
    st.sampled_from(DELEGATIONS),
)


@pytest.fixture
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harness.transcript.os.fsync", lambda fd: None)  # durability is not under test


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(WRITE, QUERY), max_size=60))
def test_the_index_answers_what_a_scan_of_every_event_did(no_fsync: None, ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, TranscriptWriter(Path(tmp) / "t.jsonl") as writer:
        index = index_of(writer)
        for op in [*ops, ("query", "caucus", "m1", "A"), ("query", "plenary", "", None)]:
            if op[0] == "write":
                writer.write(make_event(*op[1:]))
                continue
            _, what, move, delegation = op
            events = writer.events()
            if what == "caucus":
                assert index.caucus(move, delegation) == scan_caucus(events, move, delegation)
            elif what == "plenary":
                assert index.plenary() == scan_plenary(events)
            else:
                assert index.adjudications() == scan_adjudications(events)


def test_a_reopened_transcript_is_indexed_from_its_first_event(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TranscriptWriter(path) as writer:
        writer.write(make_event("caucus", 1, "m1", "A", "caucus"))
        writer.write(make_event("adjudication", 2, "m1", None, "control"))
    with TranscriptWriter(path) as resumed:
        index = index_of(resumed)
        assert [e.key for e in index.caucus("m1", "A")] == ["k1"]
        resumed.write(make_event("caucus", 3, "m1", "A", "caucus"))
        assert [e.key for e in index.caucus("m1", "A")] == ["k1", "k3"]
        assert [e.key for e in index.adjudications()] == ["k2"]


def test_one_index_per_writer_gone_with_it(tmp_path: Path) -> None:
    writer = TranscriptWriter(tmp_path / "t.jsonl")
    assert index_of(writer) is index_of(writer)
    assert index_of(writer) is not index_of(TranscriptWriter(tmp_path / "u.jsonl"))
    writer.close()
    del writer
    gc.collect()
    assert all(not w.path.name.startswith("t.") for w in eventindex._INDEXES)
