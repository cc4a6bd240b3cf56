"""``--executor ray`` on a small local Ray instance (num_cpus=2): same index and summary as local."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness.batch import load_experiment, run_batch
from harness.batch.outputs import read_index
from harness.schema import ManifestEvent, RunEndEvent
from harness.testserver import FakeOpenAIServer
from harness.transcript import Run

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def _shape(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_shape(v) for v in node] if node and isinstance(node[0], dict) else "list"
    return type(node).__name__ if node is not None else "null"


def _max_overlap(out: Path) -> int:
    spans = []
    for folder in out.glob("fake-*"):
        run = Run.load(folder)
        start = run.of(ManifestEvent)[0].t
        end = run.of(RunEndEvent)[-1].t
        spans.append((datetime.fromisoformat(start), datetime.fromisoformat(end)))
    return max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)


@pytest.mark.usefixtures("ray_local")
def test_ray_executor_matches_local(fake_server: FakeOpenAIServer, experiment: Callable[..., Path]) -> None:
    fake_server.settings.latency_ms = 60
    path = experiment(sampling={"temperature": [0.7], "seed": [1, 2]}, repetitions=2, concurrency=4)
    exp = load_experiment(path)
    local, remote = path.parent / "local", path.parent / "ray"
    run_batch(exp, local, executor="local")
    result = run_batch(exp, remote, executor="ray")
    assert result.count("completed") == 4 and fake_server.chat_count == 2 * 4 * 21

    rows_local, rows_ray = read_index(local), read_index(remote)
    assert [list(r) for r in rows_ray] == [list(r) for r in rows_local]
    same = ("run_id", "condition", "seed", "rep", "run_seed", "status", "action", "attempts", "calls")
    assert [[r[k] for k in same] for r in rows_ray] == [[r[k] for k in same] for r in rows_local]

    s_local = json.loads((local / "summary.json").read_text())
    s_ray = json.loads((remote / "summary.json").read_text())
    assert s_ray["executor"] == "ray" and _shape(s_ray) == _shape(s_local)
    assert [c["runs"] for c in s_ray["conditions"]] == [c["runs"] for c in s_local["conditions"]]
    assert (remote / "index.parquet").is_file() and (remote / "summary.csv").is_file()
    assert _max_overlap(remote) >= 3  # fractional CPUs: more than two simulations at once on two CPUs
    # a second invocation finds everything done and asks the server nothing
    fake_server.reset_counts()
    again = run_batch(exp, remote, executor="ray")
    assert again.skipped == 4 and fake_server.chat_count == 0
