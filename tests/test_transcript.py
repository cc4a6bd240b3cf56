"""The append-only JSONL transcript (docs/contract.md): round trip, skip-if-present / keep-first, torn last
lines ignored by readers and truncated by the writer, group commit (test_transcript_machine.py: random
event sequences with random crashes).
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.errors import DataError
from harness.schema import (
    EVENT_TYPES,
    AdjudicationEvent,
    BackendInfo,
    ErrorEvent,
    Event,
    EventBase,
    InjectEvent,
    ManifestEvent,
    PositionCard,
    PositionCardEvent,
    ResumeEvent,
    RunEndEvent,
    ScenarioRef,
    Stance,
    Totals,
    Usage,
    UtteranceEvent,
)
from harness.transcript import (
    TRANSCRIPT_NAME,
    Run,
    TranscriptWriter,
    add_write_hook,
    read_events,
    resolve_transcript,
)

# ------------------------------------------------------------------------------------------------
# event factories, one per kind of the schema
# ------------------------------------------------------------------------------------------------


def make_event(kind: str, key: str, text: str = "text", n: int = 1) -> Event:
    if kind == "manifest":
        return ManifestEvent(
            key=key,
            run_id=f"run-{text[:10]}",
            created="2024-01-01T00:00:00Z",
            harness_version="0.0",
            scenario=ScenarioRef(id="s", version="1", path="scenarios/s.yaml", sha256="0" * 64),
            personas={"p": "1" * 64},
            backend=BackendInfo(profile="scripted", model=text),
        )
    if kind == "inject":
        return InjectEvent(key=key, move="m1", title=text, text=text, set_questions=[text, "q?"])
    if kind == "utterance":
        return UtteranceEvent(
            key=key,
            utterance_id=key,
            move="m1",
            phase="caucus",
            channel="caucus",
            delegation="AAA",
            speaker="p1",
            round=n,
            text=text,
            usage=Usage(prompt_tokens=n, completion_tokens=2 * n, latency_ms=n / 3, model="m"),
        )
    if kind == "position_card":
        card = PositionCard(
            delegation="AAA", move="m1", stances=[Stance(axis="x", level=n % 5, rationale=text)]
        )
        return PositionCardEvent(key=key, move="m1", delegation="AAA", card=card)
    if kind == "adjudication":
        return AdjudicationEvent(key=key, move="m1", text=text, scripted=bool(n % 2), next_move=None)
    if kind == "error":
        return ErrorEvent(key=key, move="m1", where="caucus", kind="InvalidReply", message=text)
    if kind == "resume":
        return ResumeEvent(
            key=key, at_seq=n, backend=BackendInfo(profile="p", base_url="http://x", model=None)
        )
    if kind == "run_end":
        return RunEndEvent(key=key, status="completed", totals=Totals(calls=n, wall_s=n / 7))
    raise AssertionError(kind)


def test_factories_cover_every_event_kind() -> None:
    for kind, cls in EVENT_TYPES.items():
        ev = make_event(kind, f"k/{kind}")
        assert isinstance(ev, cls)
        assert ev.event == kind


# ------------------------------------------------------------------------------------------------
# example-based tests
# ------------------------------------------------------------------------------------------------

TRICKY = 'Quotes " and \\ backslash, new\nline, cr\r, tab\t, nul\x00, line sep\u2028, emoji 🙂, 한국어'


def test_round_trip_every_kind(tmp_path: Path) -> None:
    path = tmp_path / TRANSCRIPT_NAME
    written = []
    with TranscriptWriter(path) as w:
        for i, kind in enumerate(EVENT_TYPES, start=1):
            written.append(w.write(make_event(kind, f"k{i}", TRICKY, i)))
    assert [e.seq for e in written] == list(range(1, len(EVENT_TYPES) + 1))
    assert all(e.t for e in written)
    read = read_events(path)
    assert read == written
    assert [type(e) for e in read] == list(EVENT_TYPES.values())
    # one JSON object per line, with the envelope of the contract
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    for i, raw in enumerate(lines[:-1], start=1):
        obj = json.loads(raw)
        assert obj["v"] == 1 and obj["seq"] == i and obj["key"] == f"k{i}" and obj["event"] and obj["t"]


def test_write_keeps_a_given_timestamp(tmp_path: Path) -> None:
    with TranscriptWriter(tmp_path / TRANSCRIPT_NAME) as w:
        ev = w.write(make_event("inject", "k").model_copy(update={"t": "2001-01-01T00:00:00Z"}))
    assert ev.t == "2001-01-01T00:00:00Z"


def test_duplicate_key_is_written_once(tmp_path: Path) -> None:
    path = tmp_path / TRANSCRIPT_NAME
    with TranscriptWriter(path) as w:
        first = w.write(make_event("utterance", "m1/caucus/AAA/r1/p1", "first"))
        again = w.write(make_event("utterance", "m1/caucus/AAA/r1/p1", "second"))
        assert again == first
        assert isinstance(again, UtteranceEvent) and again.text == "first"
        assert "m1/caucus/AAA/r1/p1" in w
        assert w.get("m1/caucus/AAA/r1/p1") == first
        w.write(make_event("inject", "other"))
    assert len(path.read_bytes().splitlines()) == 2
    # a new writer on the same file (a resumed run) also skips the recorded key
    with TranscriptWriter(path) as w2:
        assert w2.write(make_event("utterance", "m1/caucus/AAA/r1/p1", "third")) == first
        assert w2.next_seq == 3
    assert len(path.read_bytes().splitlines()) == 2


def test_readers_keep_the_first_of_duplicate_keys(tmp_path: Path) -> None:
    """Two lines with one key (e.g. written by two processes): the first wins everywhere."""
    path = tmp_path / TRANSCRIPT_NAME
    a = make_event("utterance", "dup", "first").model_copy(update={"seq": 1, "t": "x"})
    b = make_event("utterance", "dup", "second").model_copy(update={"seq": 2, "t": "x"})
    c = make_event("inject", "other").model_copy(update={"seq": 3, "t": "x"})
    path.write_text("".join(e.model_dump_json() + "\n" for e in (a, b, c)), encoding="utf-8")
    assert read_events(path) == [a, c]
    with TranscriptWriter(path) as w:
        assert w.get("dup") == a
        assert w.events() == [a, c]
        assert w.next_seq == 4


def _write_n(path: Path, n: int) -> list[EventBase]:
    with TranscriptWriter(path) as w:
        return [w.write(make_event("utterance", f"u{i}", f"turn {i}", i)) for i in range(1, n + 1)]


@pytest.mark.parametrize(
    "tail",
    [
        b'{"v": 1, "seq": 4, "key": "u4", "event": "utter',  # torn mid-line
        b"\n",  # a bare newline after the last event is harmless
        b"{not json at all}\n",  # complete but invalid last line
        b'{"v": 1, "seq": 4, "key": "u4", "event": "nope"}\n',  # valid JSON, not an event
        '{"v": 1, "text": "caf\u00e9'.encode()[:-1],  # torn inside a multi-byte character
    ],
    ids=["torn", "blank", "invalid-json", "invalid-event", "torn-utf8"],
)
def test_torn_last_line_is_ignored_then_repaired(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / TRANSCRIPT_NAME
    written = _write_n(path, 3)
    good = path.read_bytes()
    with path.open("ab") as fh:
        fh.write(tail)
    assert read_events(path) == written  # the reader ignores it
    assert path.read_bytes() == good + tail  # ... and leaves the file alone
    with TranscriptWriter(path) as w:
        if tail.strip():
            assert path.read_bytes() == good  # the writer truncates it on open
        assert w.next_seq == 4
        ev = w.write(make_event("inject", "after", "resumed"))
    assert ev.seq == 4
    events = read_events(path)
    assert events == [*written, ev]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    for raw in path.read_bytes().splitlines():
        if raw.strip():
            json.loads(raw)  # every line left is whole


def test_corrupt_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / TRANSCRIPT_NAME
    _write_n(path, 4)
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1][:-5]  # damage line 2 of 4
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError) as info:
        read_events(path)
    assert info.value.line == 2
    assert info.value.path == str(path)
    assert "not a valid transcript event" in str(info.value)
    before = path.read_bytes()
    with pytest.raises(DataError) as info2:
        TranscriptWriter(path)
    assert info2.value.line == 2
    assert path.read_bytes() == before  # nothing was truncated or appended


def test_invalid_event_in_the_middle_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / TRANSCRIPT_NAME
    _write_n(path, 3)
    lines = path.read_text(encoding="utf-8").splitlines()
    obj = json.loads(lines[2])
    obj["phase"] = "lunch"
    lines[2] = json.dumps(obj)
    path.write_text("\n".join(lines) + "\n" + lines[0] + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_events(path)
    assert info.value.line == 3


def _count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_group_commit_one_fsync_covers_every_event_written_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_fsyncs(monkeypatch)
    path = tmp_path / TRANSCRIPT_NAME
    with TranscriptWriter(path) as w:
        for i in range(5):
            w.write(make_event("inject", f"k{i}"))
            # written and flushed (a killed process keeps it), not yet fsynced
            assert path.read_text(encoding="utf-8").count("\n") == i + 1
        assert calls == [] and w.durable_seq == 0 and w.durable_bytes == 0
        w.sync()
        assert len(calls) == 1 and w.durable_seq == 5 and w.durable_bytes == path.stat().st_size
        w.sync()  # nothing new: no fsync
        w.write(make_event("inject", "k0"))  # a duplicate writes nothing, syncs nothing
        w.sync()
        assert len(calls) == 1
        w.write(make_event("inject", "k5"))
        assert w.durable_seq == 5
    assert len(calls) == 2  # close() makes the rest durable
    with TranscriptWriter(path) as again:  # reopened: what is on the file is durable
        assert again.durable_seq == 6 and again.durable_bytes == path.stat().st_size


def test_concurrent_syncs_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Callers that arrive during an fsync wait for it, and need at most one more between them."""
    calls: list[int] = []
    gate = threading.Event()
    real = os.fsync

    def slow(fd: int) -> None:
        calls.append(fd)
        gate.wait(5)
        real(fd)

    monkeypatch.setattr(os, "fsync", slow)
    with TranscriptWriter(tmp_path / TRANSCRIPT_NAME) as w:
        w.write(make_event("inject", "k0"))
        first = threading.Thread(target=w.sync)
        first.start()
        while not calls:
            threading.Event().wait(0.001)
        w.write(make_event("inject", "k1"))  # written while the first fsync runs: not covered by it
        late = [threading.Thread(target=w.sync) for _ in range(6)]
        for t in late:
            t.start()
        gate.set()
        for t in [first, *late]:
            t.join(5)
        assert w.durable_seq == 2
        assert len(calls) == 2  # the first caller's fsync, then one for all six late callers


def test_adurable_fsyncs_off_the_event_loop(tmp_path: Path) -> None:
    import asyncio

    loop_thread: list[int] = []
    fsync_thread: list[int] = []
    real = os.fsync

    def recording(fd: int) -> None:
        fsync_thread.append(threading.get_ident())
        real(fd)

    async def main(w: TranscriptWriter) -> None:
        loop_thread.append(threading.get_ident())
        w.write(make_event("inject", "k0"))
        await asyncio.gather(w.adurable(), w.adurable())
        assert w.durable_seq == 1

    mp = pytest.MonkeyPatch()
    mp.setattr(os, "fsync", recording)
    try:
        with TranscriptWriter(tmp_path / TRANSCRIPT_NAME) as w:
            asyncio.run(main(w))
    finally:
        mp.undo()
    assert fsync_thread and loop_thread[0] not in fsync_thread[:1]


def test_writes_from_many_threads(tmp_path: Path) -> None:
    path = tmp_path / TRANSCRIPT_NAME
    with TranscriptWriter(path) as w, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: w.write(make_event("inject", f"k{i % 20}", str(i))), range(200)))
    events = read_events(path)
    assert sorted(e.key for e in events) == sorted(f"k{i}" for i in range(20))
    assert [e.seq for e in events] == list(range(1, 21))
    assert len(path.read_bytes().splitlines()) == 20


def test_read_missing_transcript(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such transcript"):
        read_events(tmp_path / TRANSCRIPT_NAME)


def test_run_load_and_views(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "run-1"
    path = folder / TRANSCRIPT_NAME
    with TranscriptWriter(path) as w:
        w.write(make_event("manifest", "manifest"))
        w.write(make_event("inject", "m1/inject"))
        w.write(make_event("utterance", "m1/u1"))
        w.write(make_event("position_card", "m1/card/AAA"))
        w.write(make_event("adjudication", "m1/adjudication"))
        w.write(RunEndEvent(key="run_end/1", status="interrupted"))
        w.write(RunEndEvent(key="run_end/2", status="completed"))
    for where in (folder, path):
        run = Run.load(where)
        assert run.path == path
        assert run.folder == folder
    run = Run.load("run-1", root=tmp_path / "runs")
    assert run.run_id == "run-text"
    assert run.moves() == ["m1"]
    assert run.delegations() == ["AAA"]
    assert len(run.utterances()) == len(run.cards()) == len(run.adjudications()) == len(run.injects()) == 1
    end = run.run_end()
    assert end is not None and end.status == "completed"  # a later run_end supersedes an earlier one
    assert len(list(run)) == 7
    with pytest.raises(DataError, match="no run here"):
        resolve_transcript(tmp_path / "nothing")


def test_run_requires_a_manifest_first(tmp_path: Path) -> None:
    path = tmp_path / TRANSCRIPT_NAME
    with TranscriptWriter(path) as w:
        w.write(make_event("inject", "m1/inject"))
    with pytest.raises(DataError, match="first event is not a manifest"):
        Run.load(path)


def test_write_hooks_see_each_event_once_it_is_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    seen: list[tuple[str, int]] = []

    def hook(event: EventBase) -> None:  # the file already holds the event when the hook runs
        seen.append((event.key, path.read_text(encoding="utf-8").count("\n")))

    remove = add_write_hook(hook)
    try:
        with TranscriptWriter(path) as w:
            w.write(make_event("manifest", "manifest"))
            w.write(make_event("manifest", "manifest"))  # a key already recorded is not written again
    finally:
        remove()
    assert seen == [("manifest", 1)]
