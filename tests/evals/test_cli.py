"""`harness score | divergence | validate-scorer | import` through the real CLI entry point."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evals.scores_io import read_scores
from harness.cli import eval_cmds, main
from harness.errors import ConfigError
from harness.llm.base import ChatModel
from harness.llm.fake import ScriptedModel

from .conftest import EXERCISE, GOLD_SEED, card
from .test_importers import RECORD_MD
from .test_judge import quoting


def test_import_score_divergence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "record.md"
    src.write_text(RECORD_MD, encoding="utf-8")
    assert main(["import", str(src), "--out", str(tmp_path / "runs"), "--run-id", "imp", "--anonymise"]) == 0
    folder = tmp_path / "runs" / "imp"
    assert "imported 6 statements in 2 move(s)" in capsys.readouterr().out

    assert main(["score", str(folder), "--scorer", "rules"]) == 0
    scores = read_scores(folder / "scores" / "rules.jsonl")
    assert {(s.move, s.delegation, s.axis) for s in scores if s.level is not None} >= {
        ("m1", "ROK", "neo"),
        ("m1", "JPN", "neo"),
        ("m2", "ROK", "neo"),
    }
    assert "rules scores" in capsys.readouterr().out

    out_json, out_csv = tmp_path / "summary.json", tmp_path / "summary.csv"
    assert main(["divergence", str(folder), "-o", str(out_json), "--n-boot", "20"]) == 0
    printed = capsys.readouterr().out
    assert "neo: distance" in printed and "JPN–ROK" in printed
    [summary] = json.loads(out_json.read_text(encoding="utf-8"))["summaries"]
    assert summary["runs"] == ["imp"] and summary["axes"]["neo"]["distance"]["JPN–ROK"]["m1"] is not None
    assert (
        main(["divergence", str(folder / "scores" / "rules.jsonl"), "-o", str(out_csv), "--n-boot", "0"]) == 0
    )
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert rows and {"scorer", "axis", "kind", "key", "move", "value"} <= set(rows[0])


def test_score_stated_and_judge_into_one_file(
    tmp_path: Path, run_folder: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cards = [card("m1", "ROK", {"neo": 0}), card("m1", "JPN", {"neo": 4}), card("m2", "JPN", {"neo": 2})]
    a = run_folder(EXERCISE, name="a", cards=cards)
    b = run_folder(EXERCISE, name="b", cards=cards)
    out = tmp_path / "stated.jsonl"
    assert main(["score", str(a), str(b / "transcript.jsonl"), "--scorer", "stated", "-o", str(out)]) == 0
    assert {s.run_id for s in read_scores(out)} == {"a", "b"} and len(read_scores(out)) == 2 * 3 * 3

    panel: list[ScriptedModel] = [
        ScriptedModel(quoting("1"), model="j1"),
        ScriptedModel(quoting("3"), model="j2"),
    ]

    def fake_models(backends: list[str], urls: list[str], models: list[str]) -> list[ChatModel]:
        assert models == ["j1", "j2"]
        return list(panel)

    monkeypatch.setattr(eval_cmds, "_judge_models", fake_models)
    args = [
        "score",
        str(a),
        "--scorer",
        "judge",
        "--judge-model",
        "j1",
        "--judge-model",
        "j2",
        "--samples",
        "2",
    ]
    assert main(args) == 0
    judged = read_scores(a / "scores" / "judge.jsonl")
    assert {s.model for s in judged} == {"j1", "j2"} and all(s.samples == 2 for s in judged)
    assert (a / "scores" / "judge.notes.jsonl").exists()
    assert all(sorted({c.sample for c in m.calls}) == [0, 1] for m in panel)
    # a panel's scores are divergence sources of their own
    assert main(["divergence", str(a), "--scorer", "judge", "--n-boot", "0"]) == 0


def test_validate_scorer_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-scorer", "--gold", str(GOLD_SEED), "--scorer", "rules", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # the whole of stdout is one JSON object
    assert report["scorer"] == "rules" and set(report["axes"]) == {"neo", "china_messaging", "territorial"}
    assert report["overall"]["n"] == 40
    assert "validating" in captured.err  # progress goes to stderr


def test_validate_scorer_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text(
        json.dumps({"id": "1", "axis": "neo", "delegation": "ROK", "level": 0, "text": "No SDF."}) + "\n"
    )
    assert main(["validate-scorer", "--gold", str(gold), "--scorer", "stated"]) == 0
    out = capsys.readouterr().out
    assert "neo: confusion" in out and "coverage" in out


def test_user_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(tmp_path / "nowhere")]) == 2
    assert main(["divergence", str(tmp_path)]) == 2
    bad = tmp_path / "bad.md"
    bad.write_text("Kim (ROK): too early\n", encoding="utf-8")
    assert main(["import", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bad.md:1" in err and "Traceback" not in err


def test_panel_flags_must_line_up() -> None:
    with pytest.raises(ConfigError, match="--judge-backend given 2 times for a panel of 3"):
        eval_cmds._judge_models(["ollama", "vllm"], [], ["a", "b", "c"])
