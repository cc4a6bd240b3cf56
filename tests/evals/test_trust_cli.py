"""`harness calibrate-judge`, `validate-scorer --calibration/--panel/--save` and `score --panel` through the
real CLI: end to end over HTTP against the project's fake OpenAI-compatible server (harness/testserver.py),
whose judges are scripted with known biases, and with scripted models in process. No key, no network."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evals.calibration import load_calibration
from evals.reliability import read_gold
from evals.scores_io import read_scores
from evals.validation_store import find_validation, read_validation
from harness.cli import eval_cmds, main
from harness.llm.base import ChatModel
from harness.llm.fake import ScriptedModel
from harness.testserver import FakeOpenAIServer

from .conftest import EXERCISE, GOLD
from .scripted_judges import biased, gold_rows, server_judge, truth_of, write_gold

TRAIN = gold_rows("train", {0: 3, 1: 3, 2: 3, 3: 3, 4: 3, None: 2})
DEV = gold_rows("dev", {0: 2, 1: 2, 2: 2, 3: 2, 4: 2, None: 2})
TRUTH = truth_of(TRAIN, DEV)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    """Two judges behind one endpoint: "exact" says the true level, "plus-one" one level higher."""
    with FakeOpenAIServer(responder=server_judge(TRUTH, {"exact": 0, "plus-one": 1})) as s:
        yield s


def judge_flags(server: FakeOpenAIServer, *models: str) -> list[str]:
    flags = ["--judge-backend", "ollama", "--judge-base-url", server.base_url]
    for m in models:
        flags += ["--judge-model", m]
    return flags


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(args) == 0, capsys.readouterr().err
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_calibrate_then_validate_over_http(
    tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    train = write_gold(tmp_path / "gold" / "train.jsonl", TRAIN)
    dev = write_gold(tmp_path / "gold" / "dev.jsonl", DEV)
    cal = tmp_path / "calibration.json"
    args = ["calibrate-judge", "--gold", str(train), *judge_flags(server, "plus-one"), "-o", str(cal)]
    assert main(args) == 0
    assert "raw level" in capsys.readouterr().out
    assert load_calibration(cal).for_model("plus-one").mapping == {0: 0, 1: 0, 2: 1, 3: 2, 4: 4}
    assert server.chat_count == len(TRAIN)
    assert {b["model"] for b in server.requests} == {"plus-one"}

    validate = ["validate-scorer", "--gold", str(dev), "--scorer", "judge", *judge_flags(server, "plus-one")]
    raw = run_json([*validate, "--json"], capsys)
    saved = tmp_path / "validation"
    calibrated = run_json(
        [*validate, "--calibration", str(cal), "--json", "--save", "--save-dir", str(saved)], capsys
    )
    assert raw["overall"]["exact_accuracy"] == pytest.approx(4 / 12)
    assert calibrated["overall"]["exact_accuracy"] == pytest.approx(10 / 12)
    assert calibrated["calibration"] == load_calibration(cal).id and raw["calibration"] is None
    assert (calibrated["model"], calibrated["gold_name"], calibrated["split"]) == ("plus-one", "gold", "dev")

    [record] = read_validation(saved / "judge.json").records
    assert (record.scorer, record.model, record.calibration) == (
        "judge",
        "plus-one",
        load_calibration(cal).id,
    )
    assert (record.gold_name, record.split, record.n) == ("gold", "dev", 12)
    assert record.exact_accuracy == pytest.approx(10 / 12) and record.coverage == 1.0
    assert record.na_accuracy == 1.0 and record.kappa is not None and record.alpha is not None
    assert record.date and record.harness_version and record.samples == 1
    assert set(record.axes) == {"neo"}
    found = find_validation("judge", "plus-one", load_calibration(cal).id, [tmp_path / "nowhere", saved])
    assert found is not None and found[0] == record
    assert find_validation("judge", "plus-one", None, [saved]) is None  # uncalibrated: not this record


@pytest.mark.parametrize("split", ["dev", "other-languages"])
def test_validate_any_gold_file_over_http(
    split: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A judge that finds no position anywhere: its figures follow from the gold file alone.
    gold = GOLD / f"{split}.jsonl"
    rows = read_gold(gold)
    with FakeOpenAIServer(responder=server_judge(None, {})) as server:
        report = run_json(
            [
                "validate-scorer",
                "--gold",
                str(gold),
                "--scorer",
                "judge",
                *judge_flags(server, "m"),
                "--json",
            ],
            capsys,
        )
        assert server.chat_count == len(rows)
    overall = report["overall"]
    null_share = sum(r.level is None for r in rows) / len(rows)
    assert overall["n"] == len(rows) and overall["coverage"] == 0.0
    assert overall["exact_accuracy"] == pytest.approx(null_share)
    assert overall["na_accuracy"] == pytest.approx(null_share)


def test_validate_a_panel_over_http(
    tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = write_gold(tmp_path / "gold" / "dev.jsonl", DEV)
    saved = tmp_path / "validation"
    args = [
        "validate-scorer",
        "--gold",
        str(dev),
        "--scorer",
        "judge",
        *judge_flags(server, "exact", "plus-one"),
    ]
    report = run_json([*args, "--panel", "mean", "--json", "--save", "--save-dir", str(saved)], capsys)
    assert report["model"] == "mean:exact+plus-one"
    panel = report["panel"]
    assert panel["combine"] == "mean"
    members = panel["members"]
    assert members["exact"]["overall"]["exact_accuracy"] == 1.0
    assert members["plus-one"]["overall"]["exact_accuracy"] == pytest.approx(4 / 12)
    # mean of (g, g + 1): a half, to the level nearest the members' median (the same half), then the lower
    assert report["overall"]["exact_accuracy"] == 1.0
    assert panel["agreement"]["neo"]["n_units"] == 10
    records = read_validation(saved / "judge.json").records
    assert {r.model for r in records} == {"mean:exact+plus-one", "exact", "plus-one"}
    assert main([*args, "--panel", "none"]) == 2


def test_score_with_a_panel_writes_its_agreement(
    run_folder: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = {u.text: 2 for u in EXERCISE}
    panel = [ScriptedModel(biased(truth), model="a"), ScriptedModel(biased(truth, table={2: 3}), model="b")]

    def fake_models(backends: list[str], urls: list[str], models: list[str]) -> list[ChatModel]:
        return list(panel)

    monkeypatch.setattr(eval_cmds, "_judge_models", fake_models)
    folder = run_folder(EXERCISE)
    assert (
        main(
            [
                "score",
                str(folder),
                "--scorer",
                "judge",
                "--judge-model",
                "a",
                "--judge-model",
                "b",
                "--panel",
                "majority",
            ]
        )
        == 0
    )
    scores = read_scores(folder / "scores" / "judge.jsonl")
    assert {s.model for s in scores} == {"majority:a+b"} and {s.level for s in scores} == {2}  # a tie → lower
    written = json.loads((folder / "scores" / "judge.panel.json").read_text(encoding="utf-8"))
    assert written["combine"] == "majority"
    assert written["agreement"]["neo"]["models"] == ["a", "b"] and written["agreement"]["neo"]["n_units"] == 6
    assert "agreement between the panel's judges" in capsys.readouterr().out


def test_judge_options_are_refused_for_other_scorers(
    run_folder: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = run_folder(EXERCISE)
    assert main(["score", str(folder), "--scorer", "rules", "--calibration", str(tmp_path / "c.json")]) == 2
    assert "--calibration: only for a judge" in capsys.readouterr().err


def test_save_replaces_the_same_slot_and_keeps_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"id": "1", "axis": "neo", "delegation": "ROK", "level": None, "text": "The weather is fine."}]
    dev = write_gold(tmp_path / "g" / "dev.jsonl", rows)
    test = write_gold(tmp_path / "g" / "heldout.jsonl", rows)
    saved = tmp_path / "validation"
    for gold in (dev, dev, test):
        assert (
            main(
                [
                    "validate-scorer",
                    "--gold",
                    str(gold),
                    "--scorer",
                    "rules",
                    "--save",
                    "--save-dir",
                    str(saved),
                ]
            )
            == 0
        )
    records = read_validation(saved / "rules.json").records
    assert sorted(r.split for r in records) == ["dev", "heldout"]
    assert (
        main(
            [
                "validate-scorer",
                *("--gold", str(test), "--scorer", "rules", "--split", "test"),
                *("--save", "--save-dir", str(saved)),
            ]
        )
        == 0
    )
    found = find_validation("rules", None, None, [saved])
    assert found is not None and found[0].split == "test"  # the most held-out split is preferred
    assert "saved to" in capsys.readouterr().err


def test_score_with_a_calibration_records_raw_and_calibrated_levels(
    run_folder: Callable[..., Path],
    tmp_path: Path,
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    truth = {u.text: 1 for u in EXERCISE}  # the test's own level for every statement
    train = write_gold(tmp_path / "gold" / "train.jsonl", TRAIN)
    cal = tmp_path / "calibration.json"
    assert (
        main(["calibrate-judge", "--gold", str(train), *judge_flags(server, "plus-one"), "-o", str(cal)]) == 0
    )
    folder = run_folder(EXERCISE)
    with FakeOpenAIServer(responder=server_judge(truth, {"plus-one": 1})) as judge_server:
        args = ["score", str(folder), "--scorer", "judge", *judge_flags(judge_server, "plus-one")]
        assert main([*args, "--calibration", str(cal)]) == 0
    assert "calibrated with" in capsys.readouterr().out
    scores = read_scores(folder / "scores" / "judge.jsonl")
    cal_id = load_calibration(cal).id
    # the judge says 2 where the truth is 1; the map fitted on train (2 → 1) brings it back
    assert {(s.raw_level, s.level, s.calibration) for s in scores} == {(2, 1, cal_id)}
    notes = [json.loads(line) for line in (folder / "scores" / "judge.notes.jsonl").read_text().splitlines()]
    assert {(n["level"], n["calibrated_level"], n["calibration"]) for n in notes} == {(2, 1, cal_id)}
