"""The transcript's group commit (docs/contract.md, "What the writer guarantees"), in process:

* a model call starts only once every turn its prompt shows is fsynced;
* a crash followed by a power loss (the file cut back to what an fsync covered, the checkpoints kept as
  committed) loses no completed turn that a later step or checkpoint relied on: the run resumes to the
  same turns as an uninterrupted one, each exactly once.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest

import harness.runner
from harness.context import Options
from harness.llm.fake import FakeCall, ScriptedModel
from harness.runner import resume_run
from harness.schema import EventBase
from harness.transcript import TRANSCRIPT_NAME, Run, TranscriptWriter, add_write_hook
from tests.orchestrator.helpers import SMOKE, UniqueResponder, models, run_fake

STATEMENT = re.compile(r"Statement number \d{5}")


class _Recording(TranscriptWriter):
    opened: ClassVar[list[TranscriptWriter]] = []

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        _Recording.opened.append(self)


@pytest.fixture
def writers(monkeypatch: pytest.MonkeyPatch) -> list[TranscriptWriter]:
    _Recording.opened = []
    monkeypatch.setattr(harness.runner, "TranscriptWriter", _Recording)
    return _Recording.opened


def test_a_call_starts_only_once_the_turns_it_reads_are_durable(
    tmp_path: Path, writers: list[TranscriptWriter]
) -> None:
    unique = UniqueResponder()
    checked: list[int] = []

    def responder(call: FakeCall) -> Any:
        writer = writers[0]
        durable = writer.path.read_bytes()[: writer.durable_bytes].decode("utf-8")
        read = STATEMENT.findall(call.prompt_text)
        missing = [s for s in read if s not in durable]
        assert not missing, f"a call read turns not yet fsynced: {missing}"
        checked.append(len(read))
        return unique(call)

    _, run, _ = run_fake(SMOKE, tmp_path, ScriptedModel(responder), options=Options(max_concurrency=4))
    end = run.run_end()
    assert end is not None and end.status == "completed"
    assert sum(checked) > 0  # later calls did read earlier turns


class PowerLoss(Exception):
    """Raised from a write hook: the process stops dead after the N-th event."""


@pytest.mark.parametrize("crash_at", [2, 5, 9, 14, 20])
def test_no_completed_turn_is_lost_to_a_power_loss(
    tmp_path: Path, writers: list[TranscriptWriter], crash_at: int
) -> None:
    options = Options(max_concurrency=4)
    _, reference, _ = run_fake(SMOKE, tmp_path / "ref", options=options, run_id="ref")
    want = {e.key for e in reference.events if not e.key.startswith(("run_end/", "resume/"))}

    written = [0]

    def hook(event: EventBase) -> None:
        written[0] += 1
        if written[0] == crash_at:
            raise PowerLoss(event.key)

    out = tmp_path / "victim"
    writers.clear()
    remove = add_write_hook(hook)
    try:
        with pytest.raises(PowerLoss):
            run_fake(SMOKE, out, options=options, run_id="victim")
    finally:
        remove()
    writer = writers[0]
    transcript = out / "victim" / TRANSCRIPT_NAME
    with transcript.open("r+b") as fh:  # what a power loss leaves: the fsynced prefix
        fh.truncate(writer.durable_bytes)

    asyncio.run(resume_run("victim", models(ScriptedModel()), out_root=out, options=options))
    raw = [json.loads(line)["key"] for line in transcript.read_text(encoding="utf-8").splitlines()]
    assert len(raw) == len(set(raw)), "a turn was written twice"
    got = {k for k in raw if not k.startswith(("run_end/", "resume/"))}
    assert got == want, f"missing {want - got}, extra {got - want}"
    end = Run.load(transcript).run_end()
    assert end is not None and end.status == "completed"
