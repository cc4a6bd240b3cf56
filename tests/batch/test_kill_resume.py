"""A batch of 20 smoke runs at concurrency 8 against the fake server, SIGKILLed once five runs have
finished, then started again: it completes without redoing finished runs (acceptance test, issue 7)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

from harness.batch.outputs import read_index
from harness.errors import HarnessError
from harness.testserver import FakeOpenAIServer
from harness.transcript import TRANSCRIPT_NAME, Run
from tests.batch.conftest import FAKE_SMOKE, ROOT, clean_env

RUNS, CALLS_PER_RUN = 20, 21


def _batch(out: Path, base_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "batch", str(FAKE_SMOKE), "--out", str(out), "--quiet"],
        cwd=ROOT,
        env=clean_env(base_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _state(out: Path) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    for folder in sorted(out.glob("fake-*")):
        if (folder / TRANSCRIPT_NAME).is_file():
            try:
                runs[folder.name] = Run.load(folder)
            except HarnessError:  # the manifest line itself is still being written
                continue
    return runs


def _completed(runs: dict[str, Run]) -> set[str]:
    return {rid for rid, r in runs.items() if (end := r.run_end()) is not None and end.status == "completed"}


def _calls(run: Run) -> int:
    return sum(1 for e in run.events if getattr(e, "usage", None) is not None)


def test_killed_batch_resumes_without_redoing_finished_runs(tmp_path: Path) -> None:
    out = tmp_path / "batch"
    with FakeOpenAIServer(latency_ms=50) as server:
        proc = _batch(out, server.base_url)
        deadline = time.monotonic() + 120
        while len(_completed(_state(out))) < 5:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.05)
        proc.kill()  # SIGKILL: no cleanup, no run_end, maybe a torn line
        proc.communicate(timeout=30)

        at_kill = _state(out)
        finished = _completed(at_kill)
        partial = set(at_kill) - finished
        assert 5 <= len(finished) < RUNS and partial, (len(finished), len(partial))
        fingerprints = {
            rid: (
                (out / rid / TRANSCRIPT_NAME).stat().st_mtime_ns,
                hashlib.sha256((out / rid / TRANSCRIPT_NAME).read_bytes()).hexdigest(),
            )
            for rid in finished
        }
        recorded_calls = sum(_calls(r) for r in at_kill.values())

        server.reset_counts()
        again = _batch(out, server.base_url)
        stdout, stderr = again.communicate(timeout=180)
        assert again.returncode == 0, stderr

        # only the calls not yet recorded were made: finished runs cost nothing, partial ones resumed
        assert server.chat_count == RUNS * CALLS_PER_RUN - recorded_calls
        for rid, fp in fingerprints.items():
            path = out / rid / TRANSCRIPT_NAME
            assert (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()) == fp

    final = _state(out)
    assert len(_completed(final)) == RUNS
    assert all(_calls(r) == CALLS_PER_RUN for r in final.values())  # every turn exactly once
    rows = {r["run_id"]: r for r in read_index(out)}
    assert len(rows) == RUNS and all(r["status"] == "completed" for r in rows.values())
    assert {rid for rid, r in rows.items() if r["action"] == "skipped"} == finished
    assert {rid for rid, r in rows.items() if r["action"] == "resumed"} == partial
    assert all((out / rid / "scores" / "rules.jsonl").is_file() for rid in rows)
    assert (out / "summary.json").is_file() and (out / "index.parquet").is_file()
    assert "20 completed" in " ".join(stdout.split())
