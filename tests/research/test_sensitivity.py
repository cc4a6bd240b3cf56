"""Sensitivity experiments on scripted models whose behaviour is known: an effect that exists is found,
one that does not is not, and the conditions are data the runs record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.batch.spec import BackendSpec
from harness.errors import ConfigError
from harness.research.sensitivity import SensitivityResult, run_sensitivity, sensitivity_experiment
from harness.research.spec import SensitivitySpec
from harness.transcript import Run
from tests.research.conftest import (
    SMOKE,
    Responder,
    brief_model,
    constant_model,
    name_model,
    persona_model,
    scripted_opener,
)

pytestmark = pytest.mark.usefixtures("scripted_env")

REPS = 5


def run(
    out: Path,
    responder: Responder,
    *,
    per_model: dict[str, Responder] | None = None,
    progress: Any = None,
    **spec: Any,
) -> SensitivityResult:
    exp = sensitivity_experiment(
        SMOKE, SensitivitySpec(**spec), backend=BackendSpec(name="scripted"), seeds=[1], reps=REPS
    )
    return run_sensitivity(exp, out, opener=scripted_opener(responder, per_model), progress=progress)


def cells(result: SensitivityResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["delegation"], c["axis"]): c for c in result.analysis["cells"]}


def excludes_zero(c: dict[str, Any]) -> bool:
    return bool(c["low"] > 0 or c["high"] < 0) and bool(
        c["low_simultaneous"] > 0 or c["high_simultaneous"] < 0
    )


def covers_zero(c: dict[str, Any]) -> bool:
    return bool(c["low_simultaneous"] <= 0 <= c["high_simultaneous"])


def test_identity_swap_detects_a_model_that_plays_the_flag(tmp_path: Path) -> None:
    events: list[str] = []
    result = run(
        tmp_path / "out",
        name_model,
        experiment="identity-swap",
        swap=["US", "JPN"],
        swap_what="names",
        progress=lambda what, info: events.append(what),
    )
    a = result.analysis
    by = cells(result)
    for axis in ("neo", "china_messaging", "territorial"):
        us, jpn, rok = by[("US", axis)], by[("JPN", axis)], by[("ROK", axis)]
        assert excludes_zero(us) and us["diff"] > 2 and us["significant"]  # US, now "Japan", moves up
        assert excludes_zero(jpn) and jpn["diff"] < -2 and jpn["significant"]
        assert not rok["significant"] and covers_zero(rok)
        assert us["method"] == "paired" and us["n_pairs"] == REPS and us["w1"] > 2
    assert a["verdict"]["label"] == "follows the flag"
    assert a["verdict"]["line"].startswith("stance follows the flag")
    assert a["correction"]["method"] == "holm" and a["correction"]["m"] == 9
    assert [c["runs"] for c in a["conditions"]] == [REPS, REPS]
    assert events.count("run_end") == 2 * REPS and events[0] == "plan"  # progress reaches the caller
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sensitivity"]["verdict"] == a["verdict"]
    assert {c["condition"] for c in summary["conditions"]} == {
        "smoke.baseline-scripted-default-tdef",
        "smoke.swap-names-JPN-US-scripted-default-tdef",
    }


def test_identity_swap_finds_no_effect_when_the_model_ignores_the_name(tmp_path: Path) -> None:
    result = run(tmp_path / "out", brief_model, experiment="identity-swap", swap=["US", "JPN"])
    for c in result.analysis["cells"]:
        assert covers_zero(c) and not c["significant"], c
    verdict = result.analysis["verdict"]
    assert verdict["label"] == "no detectable effect"
    assert verdict["line"].startswith(f"no detectable effect at {REPS} runs per condition")
    assert result.analysis["power"]["mde_median"] > 0


def test_identity_swap_of_briefs_follows_a_brief_reading_model(tmp_path: Path) -> None:
    result = run(
        tmp_path / "out", brief_model, experiment="identity-swap", swap=["US", "JPN"], swap_what="briefs"
    )
    assert result.analysis["verdict"]["label"] == "follows the brief"


def test_persona_ablation_detects_a_model_that_plays_the_persona(tmp_path: Path) -> None:
    result = run(tmp_path / "out", persona_model, experiment="persona-ablation")
    by = cells(result)
    assert all(excludes_zero(c) and c["diff"] < -1 for c in by.values())
    assert result.analysis["verdict"]["label"] == "effect"
    assert result.analysis["verdict"]["line"].startswith(
        "stances change when the persona text is gone: 9 of 9"
    )
    # the ablated personas are data in the condition folder, recorded by every treatment run
    folder = tmp_path / "out" / "conditions" / "personas-minimal-all"
    persona = yaml.safe_load((folder / "personas" / "us-state.yaml").read_text())
    assert persona["interests"] == [] and "No further background" in persona["background"]
    assert persona["stance_priors"]  # analysis-only priors stay
    treated = [r for r in result.batch.plan.runs if "personas-minimal" in r.run_id]
    manifest = Run.load(tmp_path / "out" / treated[0].run_id).manifest
    assert manifest.scenario.path == str(folder / "scenario.yaml")
    assert manifest.data_paths["personas"][0] == str((folder / "personas").resolve())


def test_persona_ablation_finds_no_effect_when_the_model_plays_the_flag(tmp_path: Path) -> None:
    result = run(tmp_path / "out", name_model, experiment="persona-ablation")
    assert all(covers_zero(c) for c in result.analysis["cells"])
    assert result.analysis["verdict"]["label"] == "no detectable effect"


def test_model_for_changes_only_that_delegation(tmp_path: Path) -> None:
    result = run(
        tmp_path / "out",
        name_model,
        per_model={"hawk": constant_model(4)},
        experiment="model",
        model_for={"ROK": "hawk"},
    )
    by = cells(result)
    for axis in ("neo", "china_messaging", "territorial"):
        assert by[("ROK", axis)]["significant"] and by[("ROK", axis)]["diff"] > 1
        assert by[("US", axis)]["diff"] == 0 and not by[("JPN", axis)]["significant"]
    assert result.analysis["verdict"]["label"] == "effect"
    treated = [r for r in result.batch.plan.runs if r.condition.backend.name == "models-ROK"]
    assert len(treated) == REPS
    assert Run.load(tmp_path / "out" / treated[0].run_id).manifest.model_for == {"ROK": "hawk"}


def test_the_same_command_again_resumes_and_another_experiment_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run(out, name_model, experiment="brief-ablation", ablate=["ROK"])
    assert all(r.action == "started" for r in first.batch.records.values())
    changed = yaml.safe_load((out / "conditions" / "briefs-neutral-ROK" / "scenario.yaml").read_text())
    rok = next(d for d in changed["delegations"] if d["id"] == "ROK")
    assert "represent your country" in rok["brief"] and changed["id"] == "smoke.briefs-neutral-ROK"
    again = run(out, name_model, experiment="brief-ablation", ablate=["ROK"])
    assert all(r.action == "skipped" for r in again.batch.records.values())
    assert again.analysis["cells"] == first.analysis["cells"]
    # a different treatment is a different condition folder and run ids: it shares only the baseline
    (out / "conditions" / "baseline" / "scenario.yaml").write_text("# edited by hand\n")
    with pytest.raises(ConfigError, match="holds another condition"):
        run(out, name_model, experiment="brief-ablation", ablate=["ROK"])


def test_spec_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="two different delegation ids"):
        SensitivitySpec(experiment="identity-swap", swap=["US", "US"])
    with pytest.raises(ValueError, match="model_for"):
        SensitivitySpec(experiment="model")
    with pytest.raises(ValueError, match="ablate is for"):
        SensitivitySpec(experiment="identity-swap", ablate=["US"])


def test_unknown_delegation_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no delegation 'FRA'"):
        run(tmp_path / "out", name_model, experiment="identity-swap", swap=["US", "FRA"])


def test_judge_levels_need_a_judge_block(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a model"):
        run(tmp_path / "out", name_model, experiment="persona-ablation", scorer="judge")
    with pytest.raises(ConfigError, match="unknown scorer"):
        run(tmp_path / "out", name_model, experiment="persona-ablation", scorer="nope")


def test_neutral_personas_keep_name_title_and_role_only() -> None:
    from harness.loaders import load_persona
    from harness.research.conditions import ablated_persona

    original = load_persona(SMOKE.parents[1] / "personas" / "rok-jcs.yaml")
    neutral = ablated_persona(original, "neutral", "Republic of Korea")
    assert neutral.name == original.name and neutral.title == original.title
    assert neutral.background.startswith(f"{original.name}, {original.title}, is a senior officer")
    assert "Republic of Korea delegation" in neutral.background
    assert neutral.interests == neutral.constraints == neutral.red_lines == []
    assert neutral.stance_priors == original.stance_priors
