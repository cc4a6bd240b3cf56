"""The transcript under random event sequences, duplicate keys and random crashes (a stateful
hypothesis test): readers keep the first of each surviving key, in order, and a reopened writer leaves no
torn bytes and continues the seqs.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from harness.schema import (
    EVENT_TYPES,
    EventBase,
)
from harness.transcript import (
    TRANSCRIPT_NAME,
    TranscriptWriter,
    read_events,
)
from tests.test_transcript import TRICKY, make_event

# ------------------------------------------------------------------------------------------------
# property: random event sequences, duplicate keys, random crashes
# ------------------------------------------------------------------------------------------------

KEYS = [f"k{i}" for i in range(12)]
texts = st.text(max_size=30) | st.sampled_from([TRICKY, "", "\n", '"}\n{"v": 1'])


class TranscriptMachine(RuleBasedStateMachine):
    """A writer that crashes at random: truncation at any byte offset loses a suffix of the file.

    The model is the list of events whose lines were complete (newline included) when the file was
    cut. Readers must return the first occurrence of each surviving key, in order, with strictly
    increasing seqs; a reopened writer must leave no torn bytes behind and continue the seqs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(_MACHINE_DIR.make())
        self.path = self.dir / TRANSCRIPT_NAME
        self.writer: TranscriptWriter | None = TranscriptWriter(self.path)
        self.lines: list[tuple[EventBase, int]] = []  # event and its line's end offset, in file order
        self.torn = False

    def teardown(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def _model(self) -> list[EventBase]:
        seen: set[str] = set()
        out = []
        for ev, _ in self.lines:
            if ev.key not in seen:
                seen.add(ev.key)
                out.append(ev)
        return out

    def _open(self) -> TranscriptWriter:
        if self.writer is None:
            self.writer = TranscriptWriter(self.path)
            self.torn = False
            size = self.path.stat().st_size
            assert size == (self.lines[-1][1] if self.lines else 0), "torn data survived a reopen"
        return self.writer

    @rule(
        kind=st.sampled_from(sorted(EVENT_TYPES)), key=st.sampled_from(KEYS), text=texts, n=st.integers(0, 9)
    )
    def write(self, kind: str, key: str, text: str, n: int) -> None:
        w = self._open()
        before = {e.key: e for e in self._model()}
        got = w.write(make_event(kind, key, text, n))
        if key in before:
            assert got == before[key], "a recorded key must return the recorded event"
            return
        assert isinstance(got, EVENT_TYPES[kind])
        assert got.seq == max((e.seq for e, _ in self.lines), default=0) + 1
        self.lines.append((got, self.path.stat().st_size))

    @precondition(lambda self: self.path.exists() and self.path.stat().st_size > 0)
    @rule(data=st.data())
    def crash(self, data: st.DataObject) -> None:
        """The process dies: the file loses everything after a random byte offset."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        size = self.path.stat().st_size
        cut = data.draw(st.integers(0, size), label="cut")
        with self.path.open("r+b") as fh:
            fh.truncate(cut)
        self.lines = [(e, end) for e, end in self.lines if end <= cut]
        self.torn = cut > (self.lines[-1][1] if self.lines else 0)

    @precondition(lambda self: self.writer is None)
    @rule(garbage=st.sampled_from([b"{oops}\n", b'{"v": 1}\n', b"\xff\xfe\n", b'{"v": 1, "seq"']))
    def crash_with_garbage(self, garbage: bytes) -> None:
        """A complete-but-invalid (or torn) last line after a crash."""
        if self.torn:
            return  # only the last line may be bad: a torn line followed by more is real corruption
        with self.path.open("ab") as fh:
            fh.write(garbage)
        self.torn = True

    @rule()
    def reopen(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self._open()

    @invariant()
    def readers_agree_with_the_model(self) -> None:
        if not self.path.exists():
            return
        events = read_events(self.path)
        assert events == self._model()
        seqs = [e.seq for e in events]
        assert seqs == sorted(set(seqs)), "seqs must strictly increase"
        if self.writer is not None:
            assert self.writer.events() == events


class _Dirs:
    """Fresh folders for the state machine (hypothesis builds machines outside pytest fixtures)."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.n = 0

    def make(self) -> str:
        assert self.root is not None
        self.n += 1
        d = self.root / f"m{self.n}"
        d.mkdir()
        return str(d)


_MACHINE_DIR = _Dirs()
_MACHINE_LOCK = threading.Lock()


def test_transcript_state_machine(tmp_path: Path) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    with _MACHINE_LOCK:
        _MACHINE_DIR.root, _MACHINE_DIR.n = tmp_path, 0
        run_state_machine_as_test(
            TranscriptMachine,
            settings=settings(
                max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")),
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )


def test_state_machine_model_is_not_vacuous(tmp_path: Path) -> None:
    """Guard: a crash in the middle of a line really tears it, and the machine's model sees that."""
    _MACHINE_DIR.root, _MACHINE_DIR.n = tmp_path, 0
    m = TranscriptMachine()
    m.write("utterance", "k1", "a", 1)
    m.write("inject", "k2", "b", 2)
    m.write("inject", "k1", "dup", 3)
    assert [e.key for e, _ in m.lines] == ["k1", "k2"]

    class Half:
        def draw(self, _strategy: Any, label: str = "") -> int:
            return m.lines[0][1] + 5

    m.crash(Half())
    assert m.torn and [e.key for e, _ in m.lines] == ["k1"]
    m.readers_agree_with_the_model()
    m.write("inject", "k2", "again", 1)
    assert [e.seq for e, _ in m.lines] == [1, 2]
    m.readers_agree_with_the_model()
    m.teardown()
