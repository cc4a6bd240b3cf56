"""Kill test: the smoke scenario in a subprocess against the local fake OpenAI-compatible server, killed
at several deterministic points (``tests/crashing.py``: after N events) and resumed each time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from harness.schema import ResumeEvent, RunEndEvent
from harness.testserver import FakeOpenAIServer
from harness.transcript import Run
from tests.crashing import CRASH_CODE
from tests.orchestrator.helpers import SMOKE


def _cli(
    args: list[str], out: Path, base_url: str, crash_after: int | None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "OPENAI_"))}
    entry = ["-m", "harness"] if crash_after is None else ["-m", "tests.crashing", str(crash_after)]
    backend = ["--backend", "compatible", "--base-url", base_url, "--model", "fake-model"]
    return subprocess.run(
        [sys.executable, *entry, *args, *backend, "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _raw_keys(path: Path) -> list[str]:
    keys = []
    for line in path.read_text().splitlines():
        if line.strip():
            keys.append(json.loads(line)["key"])
    return keys


def test_killed_at_several_points_and_resumed(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with FakeOpenAIServer(latency_ms=30) as server:
        # a reference run without crashes: the set of turns a complete run holds
        ref = _cli(["run", str(SMOKE), "--run-id", "reference", "--seed", "5"], out, server.base_url, None)
        assert ref.returncode == 0, ref.stderr
        expected = {
            k
            for k in _raw_keys(out / "reference" / "transcript.jsonl")
            if not k.startswith(("run_end/", "resume/"))
        }
        server.reset_counts()

        crashes = [4, 3, 6, 2, 5]
        first = _cli(
            ["run", str(SMOKE), "--run-id", "victim", "--seed", "5"], out, server.base_url, crashes[0]
        )
        assert first.returncode == CRASH_CODE, first.stderr
        for n in crashes[1:]:
            again = _cli(["resume", "victim"], out, server.base_url, n)
            assert again.returncode == CRASH_CODE, again.stderr
            assert "Traceback" not in again.stderr
        last = _cli(["resume", "victim"], out, server.base_url, None)
        assert last.returncode == 0, last.stderr
        calls = server.chat_count

    transcript = out / "victim" / "transcript.jsonl"
    raw = _raw_keys(transcript)
    counts = Counter(raw)
    assert not [k for k, c in counts.items() if c > 1], "a turn was written twice"
    got = {k for k in raw if not k.startswith(("run_end/", "resume/"))}
    assert got == expected, f"missing {expected - got}, extra {got - expected}"
    run = Run.load(transcript)
    final = run.events[-1]
    assert isinstance(final, RunEndEvent) and final.status == "completed"
    assert len(run.of(ResumeEvent)) == len(crashes)
    # no completed turn was asked again: at most the calls in flight at each crash were repeated
    turns = sum(1 for e in run.events if getattr(e, "usage", None) is not None)
    assert turns <= calls <= turns + len(crashes) * 3  # 3 delegations can be in flight at once


def test_unreachable_backend_interrupts_cleanly(tmp_path: Path) -> None:
    """A backend that stays down ends the run with run_end interrupted and the resume hint."""
    out = tmp_path / "runs"
    with FakeOpenAIServer() as server:
        url = server.base_url
    # the server is stopped: nothing listens on that port any more
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "OPENAI_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            str(SMOKE),
            "--run-id",
            "down",
            "--backend",
            "compatible",
            "--base-url",
            url,
            "--model",
            "fake-model",
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert "harness resume down" in proc.stderr
    assert "Traceback" not in proc.stderr
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error:") and "harness resume down" in last_line  # one line says it all
    run = Run.load(out / "down")
    end = run.run_end()
    assert end is not None and end.status == "interrupted"
