"""``harness fidelity``: expected findings reproduced or not on a scripted batch, priors, and findings as
data that never reach a prompt."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from evals.metrics import evaluate_finding
from harness.batch import load_experiment, run_batch
from harness.cli import main
from harness.errors import DataError
from harness.llm.fake import FakeCall, ScriptedModel, default_responder
from harness.loaders import load_scenario
from harness.runner import Models, RunRequest, start_run
from harness.schema import AxisScore, BackendInfo, ExpectedFinding, Sampling
from tests.research.conftest import ROOT, SMOKE, card_levels, scripted_opener

LEVELS = {  # by delegation name: neo, china_messaging, territorial
    "United States": (1, 1, 1),
    "Republic of Korea": (0, 4, 0),
    "Japan": (4, 2, 3),
}
FINDINGS: list[dict[str, Any]] = [
    {  # |ROK - JPN| = 4 on neo, the widest: holds
        "id": "neo-widest",
        "statement": "On neo the ROK-JPN pair is the widest",
        "source": "test exercise report, p. 1",
        "kind": "widest_pair",
        "axis": "neo",
        "pair": ["ROK", "JPN"],
    },
    {  # 4 >= 1 + 2: holds
        "id": "china-gap",
        "statement": "On china_messaging ROK >= US + 2",
        "source": "test exercise report, p. 2",
        "kind": "gap",
        "axis": "china_messaging",
        "a": "ROK",
        "b": "US",
        "at_least": 2,
    },
    {  # ROK is the lowest on territorial, not the highest: does not hold
        "id": "territorial-rok",
        "statement": "On territorial ROK leans furthest toward the East China Sea",
        "source": "test exercise report, p. 3",
        "kind": "highest",
        "axis": "territorial",
        "delegation": "ROK",
    },
]


def fixed_levels(call: FakeCall) -> Any:
    if call.response_model is None:
        return default_responder(call)
    head = call.prompt_text.split("As head of the ")[1].split(" delegation")[0]
    out = card_levels(call, 0, jitter=False)
    for axis, level in zip(("neo", "china_messaging", "territorial"), LEVELS[head], strict=True):
        out[f"{axis}_level"] = level
    return out


def scenario_with_findings(folder: Path, findings: list[dict[str, Any]]) -> Path:
    data = yaml.safe_load(SMOKE.read_text())
    data["id"] = "smoke-findings"
    data["data"] = {k: str(ROOT / d) for k, d in (("personas", "personas"), ("rubrics", "evals/rubrics"))}
    data["expected_findings"] = findings
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "smoke-findings.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.usefixtures("scripted_env")
def test_fidelity_reports_two_findings_reproduced_and_one_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = scenario_with_findings(tmp_path / "scenarios", FINDINGS)
    exp_file = tmp_path / "exp.yaml"
    exp_file.write_text(
        yaml.safe_dump(
            {
                "id": "fid",
                "scenarios": [str(scenario)],
                "backends": [{"name": "scripted"}],
                "sampling": {"seed": [1, 2]},
                "repetitions": 4,
            }
        )
    )
    out = tmp_path / "batch"
    run_batch(load_experiment(exp_file), out, opener=scripted_opener(fixed_levels))
    assert main(["fidelity", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    result = json.loads((out / "fidelity.json").read_text())
    (cond,) = result["conditions"]
    statuses = {f["id"]: f["status"] for f in cond["findings"]}
    assert statuses == {
        "neo-widest": "reproduced",
        "china-gap": "reproduced",
        "territorial-rok": "not reproduced",
    }
    assert cond["counts"] == {"reproduced": 2, "not reproduced": 1}
    first = cond["findings"][0]
    assert first["runs_holding"] == first["runs_determined"] == 8
    assert first["share"] == 1.0 and first["share_low"] == pytest.approx(1 - 3 / 8)  # the rule of three
    assert first["margin"] == pytest.approx(0.25) and first["margin_unit"] == "distance"
    assert cond["findings"][1]["margin"] == pytest.approx(1.0)  # 4 − 1 − 2 levels
    assert (
        cond["findings"][2]["share"] == 0.0 and cond["findings"][2]["source"] == "test exercise report, p. 3"
    )
    priors = {(r["delegation"], r["axis"]): r for r in cond["priors"]}
    us_neo = priors[("US", "neo")]  # us-state's prior on neo is 2; the cards say 1
    assert us_neo["prior"] == 2 and us_neo["mean_level"] == 1 and us_neo["deviation"] == pytest.approx(-0.25)
    assert "reproduced" in printed and "not reproduced" in printed
    # the batch report renders the findings from fidelity.json
    assert main(["report", str(out)]) == 0
    report = (out / "report.html").read_text()
    assert 'data-finding="china-gap" data-status="reproduced"' in report
    assert 'data-finding="territorial-rok" data-status="not reproduced"' in report
    # one run never settles a finding; its outcome shows in the count of runs holding
    run_id = next(p.name for p in out.iterdir() if (p / "transcript.jsonl").is_file())
    assert main(["fidelity", str(out / run_id)]) == 0
    single = json.loads((out / run_id / "fidelity.json").read_text())["conditions"][0]
    assert [f["status"] for f in single["findings"]] == ["undetermined"] * 3
    assert [f["runs_holding"] for f in single["findings"]] == [1, 1, 0]


def test_bad_findings_are_one_line_errors(tmp_path: Path) -> None:
    bad = [{**FINDINGS[0], "pair": ["ROK", "FRA"]}]
    with pytest.raises(DataError, match="unknown delegation 'FRA'"):
        load_scenario(scenario_with_findings(tmp_path / "a", bad))
    with pytest.raises(DataError, match="needs a"):
        load_scenario(scenario_with_findings(tmp_path / "b", [{**FINDINGS[1], "a": None}]))
    with pytest.raises(DataError, match="not in axes"):
        load_scenario(scenario_with_findings(tmp_path / "c", [{**FINDINGS[2], "axis": "tariffs"}]))


def test_the_shipped_scenario_declares_the_exercise_findings_with_sources() -> None:
    sc = load_scenario(ROOT / "scenarios" / "tsd-2016-nk-crisis.yaml")
    kinds = {f.id: (f.kind, f.axis) for f in sc.expected_findings}
    assert kinds["neo-rok-jpn-widest"] == ("widest_pair", "neo")
    assert kinds["china-rok-above-us"] == ("gap", "china_messaging")
    assert kinds["territorial-jpn-highest"] == ("highest", "territorial")
    assert all(f.source in sc.sources and f.note for f in sc.expected_findings)


def _prompts(scenario: Path, out: Path) -> list[str]:
    model = ScriptedModel()
    req = RunRequest(scenario=scenario, out_root=out, run_id="p", sampling=Sampling(seed=3))
    asyncio.run(start_run(req, Models(model, BackendInfo(profile="scripted", model="scripted"))))
    return sorted(json.dumps(c.messages) for c in model.calls)


def test_findings_never_reach_a_prompt(tmp_path: Path) -> None:
    with_findings = _prompts(scenario_with_findings(tmp_path / "a", FINDINGS), tmp_path / "ra")
    without = _prompts(scenario_with_findings(tmp_path / "b", []), tmp_path / "rb")
    assert with_findings == without
    text = "\n".join(with_findings)
    assert all(f["statement"] not in text and f["source"] not in text for f in FINDINGS)


def _scores(run: str, levels: dict[str, int]) -> list[AxisScore]:
    return [
        AxisScore(run_id=run, move="m1", delegation=d, axis="neo", level=lv, scorer="stated")
        for d, lv in levels.items()
    ]


@pytest.mark.parametrize(
    ("holding", "failing", "status"),
    [(6, 0, "undetermined"), (7, 0, "reproduced"), (0, 7, "not reproduced"), (4, 4, "undetermined")],
)
def test_status_from_the_share_of_runs(holding: int, failing: int, status: str) -> None:
    finding = ExpectedFinding.model_validate(FINDINGS[0])  # ROK–JPN widest on neo
    by_run = {f"h{i}": _scores(f"h{i}", {"US": 1, "ROK": 0, "JPN": 4}) for i in range(holding)}
    by_run |= {f"f{i}": _scores(f"f{i}", {"US": 4, "ROK": 0, "JPN": 2}) for i in range(failing)}
    result = evaluate_finding(by_run, finding, n_boot=300)
    assert result.status == status
    assert result.share.estimate == pytest.approx(holding / (holding + failing))
