"""The local executor in process: outputs, the token cap, bounded retries, compare."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from harness.batch import compare, load_experiment, run_batch
from harness.batch.models import Backend, Opened
from harness.batch.outputs import INDEX_COLUMNS, read_index
from harness.cli import main
from harness.llm.base import BackendUnavailable
from harness.llm.fake import FakeCall, ScriptedModel, ScriptedReply
from harness.opening import Models
from harness.schema import BackendInfo
from harness.testserver import FakeOpenAIServer
from harness.transcript import Run


def test_outputs_index_scores_and_summary(
    fake_server: FakeOpenAIServer, experiment: Callable[..., Path]
) -> None:
    path = experiment(sampling={"temperature": [0.7], "seed": [1, 2]}, repetitions=2, concurrency=4)
    out = path.parent / "out"
    result = run_batch(load_experiment(path), out)
    assert result.count("completed") == 4 and fake_server.chat_count == 4 * 21
    rows = read_index(out)
    assert list(rows[0]) == list(INDEX_COLUMNS)
    assert [(r["seed"], r["rep"]) for r in rows] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(r["calls"] == 21 and r["tokens"] > 0 and r["attempts"] == 1 for r in rows)
    import pyarrow.parquet as pq

    assert pq.read_table(out / "index.parquet").num_rows == 4
    summary = json.loads((out / "summary.json").read_text())
    (cond,) = summary["conditions"]
    assert cond["condition"] == "smoke-fake-default-t0.7" and cond["runs"] == 4
    stated = cond["scores"]["stated"]
    assert set(stated) == {"neo", "china_messaging", "territorial"}
    neo = stated["neo"]
    assert set(neo["pairs"]) == {"JPN–ROK", "JPN–US", "ROK–US"}
    assert set(neo["levels"]) == {"JPN", "ROK", "US"} and neo["levels"]["US"]["n"] == 4
    iv = neo["pairs"]["JPN–ROK"]
    assert iv["n_runs"] == 4 and iv["low"] <= iv["mean"] <= iv["high"]
    csv_lines = (out / "summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith("condition,scenario,backend,model,personas,temperature,scorer,axis,kind")
    assert len(csv_lines) == 1 + 2 * 3 * (3 + 3)  # scorers × axes × (pairs + delegations)


def test_token_cap_stops_launching_and_a_rerun_finishes(
    fake_server: FakeOpenAIServer, experiment: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = experiment(
        sampling={"temperature": [0.7], "seed": [1, 2, 3, 4, 5, 6]}, repetitions=1, concurrency=2
    )
    out = path.parent / "out"
    rc = main(["batch", str(path), "--out", str(out), "--max-total-tokens", "20000", "--quiet"])
    text = " ".join(capsys.readouterr().out.split())
    assert rc == 0
    rows = read_index(out)
    statuses = [r["status"] for r in rows]
    # each smoke run costs ~30k tokens: the first two were in flight when the cap was crossed
    assert statuses == ["completed", "completed", "capped", "capped", "capped", "capped"]
    assert "token cap 20,000 reached" in text and "4 runs not started" in text
    assert fake_server.chat_count == 2 * 21
    rc = main(["batch", str(path), "--out", str(out), "--quiet"])
    assert rc == 0 and all(r["status"] == "completed" for r in read_index(out))
    assert fake_server.chat_count == 6 * 21
    assert [r["action"] for r in read_index(out)][:3] == ["skipped", "skipped", "started"]


class FlakyOpener:
    """Scripted models whose backend goes down once, at the n-th call."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.calls = 0

    def __call__(self, backend: Backend, log_file: Path | None) -> Opened:
        def responder(call: FakeCall) -> ScriptedReply:
            self.calls += 1
            if self.calls == self.fail_at:
                raise BackendUnavailable("backend scripted: connection refused (test)")
            from harness.llm.fake import default_responder

            return default_responder(call)

        model = ScriptedModel(responder)
        return Opened(Models(model, BackendInfo(profile="scripted", model="scripted")), None)


@pytest.fixture
def dummy_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_BASE_URL", "http://127.0.0.1:9/v1")  # never called: scripted models


@pytest.mark.usefixtures("dummy_url")
def test_failed_run_is_resumed_and_reported(experiment: Callable[..., Path]) -> None:
    path = experiment(sampling={"temperature": [0.7], "seed": [1, 2]}, repetitions=1, concurrency=1)
    out = path.parent / "out"
    opener = FlakyOpener(fail_at=5)
    result = run_batch(load_experiment(path), out, opener=opener)
    rows = read_index(out)
    assert [r["status"] for r in rows] == ["completed", "completed"]
    assert [r["attempts"] for r in rows] == [2, 1] and result.retried == 1
    assert rows[0]["calls"] == 21  # the interrupted attempt's turns were kept, not asked again
    assert opener.calls == 2 * 21 + 1


@pytest.mark.usefixtures("dummy_url")
def test_retries_are_bounded(experiment: Callable[..., Path]) -> None:
    path = experiment(sampling={"temperature": [0.7], "seed": [1]}, repetitions=1, retries=2)

    def down(backend: Backend, log_file: Path | None) -> Opened:
        def responder(call: FakeCall) -> NoReturn:
            raise BackendUnavailable("backend scripted: connection refused (test)")

        return Opened(Models(ScriptedModel(responder), BackendInfo(profile="scripted")), None)

    out = path.parent / "out"
    result = run_batch(load_experiment(path), out, opener=down)
    (row,) = read_index(out)
    assert row["status"] == "interrupted" and row["attempts"] == 3 and "connection refused" in row["error"]
    assert result.count("interrupted") == 1


def test_compare_two_conditions_paired_by_seed(
    fake_server: FakeOpenAIServer,
    experiment: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = experiment(sampling={"temperature": [0.2, 0.9], "seed": [1, 2, 3]}, repetitions=1)
    out = path.parent / "out"
    run_batch(load_experiment(path), out)
    result = compare(out, "smoke-fake-default-t0.2", "smoke-fake-default-t0.9", scorer="stated", n_boot=200)
    assert len(result["a"]["runs"]) == 3 and len(result["b"]["runs"]) == 3
    rows = {(c["axis"], c["pair"]): c for c in result["contrasts"]}
    assert len(rows) == 9
    c = rows[("neo", "JPN–ROK")]
    assert c["method"] == "paired" and c["n_pairs"] == 3
    assert c["diff"] == pytest.approx(c["mean_b"] - c["mean_a"])
    assert c["low"] <= c["diff"] <= c["high"]
    target = path.parent / "cmp.json"
    rc = main(
        [
            "compare",
            "fake-smoke-fake-default-t0.2",
            "smoke-fake-default-t0.9",
            "--batch",
            str(out),
            "--scorer",
            "stated",
            "-o",
            str(target),
        ]
    )  # a run-id prefix works too
    assert rc == 0 and json.loads(target.read_text())["contrasts"]
    assert "B − A" in capsys.readouterr().out
    assert main(["compare", "nope", "smoke-fake-default-t0.9", "--batch", str(out)]) == 2


def test_run_killed_before_its_manifest_starts_afresh(
    fake_server: FakeOpenAIServer, experiment: Callable[..., Path]
) -> None:
    path = experiment(sampling={"temperature": [0.7], "seed": [1, 2]}, repetitions=1)
    out = path.parent / "out"
    exp = load_experiment(path)
    torn = out / "fake-smoke-fake-default-t0.7-s1-r1" / "transcript.jsonl"
    torn.parent.mkdir(parents=True)
    torn.write_text('{"v": 1, "seq": 1, "key": "manif')  # SIGKILL in the middle of the first line
    empty = out / "fake-smoke-fake-default-t0.7-s2-r1" / "transcript.jsonl"
    empty.parent.mkdir(parents=True)
    empty.write_text("")
    result = run_batch(exp, out)
    assert result.count("completed") == 2 and fake_server.chat_count == 2 * 21
    assert [r["action"] for r in read_index(out)] == ["started", "started"]


@pytest.mark.usefixtures("dummy_url")
def test_persona_variant_is_kept_when_a_run_continues(
    experiment: Callable[..., Path], tmp_path: Path
) -> None:
    from tests.batch.conftest import ROOT

    folder = tmp_path / "variant-personas"
    shutil.copytree(ROOT / "personas", folder)
    variant = [{"name": "copy", "personas": str(folder)}]
    path = experiment(
        sampling={"temperature": [0.7], "seed": [1]}, repetitions=1, retries=0, personas=variant
    )
    out = path.parent / "out"
    run_batch(load_experiment(path), out, opener=FlakyOpener(fail_at=5))
    (row,) = read_index(out)
    assert row["status"] == "interrupted"
    run_batch(load_experiment(path), out, opener=FlakyOpener(fail_at=-1))
    (row,) = read_index(out)
    assert row["status"] == "completed"
    # the resumed run reads the variant's folder, which its manifest recorded first in the persona path
    assert row["action"] == "resumed"
    manifest = Run.load(out / row["run_id"]).manifest
    assert manifest.data_paths["personas"][0] == str(folder.resolve())
