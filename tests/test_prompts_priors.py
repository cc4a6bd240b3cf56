"""No rendered prompt contains a persona's stance priors, and priors have no influence on any prompt.

The smoke and the default (TSD) scenario are run end to end with the scripted fake model, which
records every prompt it is sent. Then every persona's ``stance_priors`` is changed (levels shifted,
a marker axis added) in copies of the persona files and the runs are repeated: the prompts must be
byte-identical. A control run that changes a *visible* persona field shows the comparison is not
vacuous (the copies really are the ones read).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import TemplateError
from harness.loaders import load_bundle
from harness.prompts import Prompts
from harness.views import persona_view

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "smoke": REPO_ROOT / "scenarios" / "smoke.yaml",
    "tsd": REPO_ROOT / "scenarios" / "tsd-2016-nk-crisis.yaml",
    "mini": REPO_ROOT / "tests" / "fixtures" / "mini" / "scenarios" / "mini.yaml",
}
MARKER_AXIS = "zq_prior_marker_axis"
RUN_ID = "prompts-under-test"


def _prompts(model: Any) -> list[str]:
    """Every prompt the model was sent (messages plus the structured-output schema), in a stable order."""
    out = []
    for call in model.calls:
        schema = call.response_model.model_json_schema() if call.response_model is not None else None
        out.append(
            json.dumps({"messages": call.messages, "schema": schema}, ensure_ascii=False, sort_keys=True)
        )
    return sorted(out)  # concurrent nodes may call in a different order; the set of prompts is what counts


def _copy_personas(scenario: Path, dest: Path, change: Any) -> Path:
    """Copies of the scenario's persona files with ``change(data)`` applied; returns the folder."""
    bundle = load_bundle(scenario)
    dest.mkdir(parents=True)
    for pid, src in bundle.persona_paths.items():
        lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
        header = "".join(line for line in lines if line.startswith("#"))
        data = yaml.safe_load("".join(lines))
        change(data)
        (dest / f"{pid}.yaml").write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dest


def _shift_priors(data: dict[str, Any]) -> None:
    priors = data.get("stance_priors") or {}
    data["stance_priors"] = {axis: (level + 2) % 5 for axis, level in priors.items()} | {MARKER_AXIS: 4}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _norm(text: str) -> str:
    return " ".join(text.split())


def _visible_text(scenario: Path) -> str:
    """All content a prompt may legitimately quote: the scenario, rubrics and the personas minus priors."""
    bundle = load_bundle(scenario)
    values = [bundle.scenario.model_dump(), *(r.model_dump() for r in bundle.rubrics.values())]
    values += [persona_view(p) for p in bundle.personas.values()]
    return "\n".join(_norm(s) for s in _strings(values))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """For each scenario: the original run's prompts, the shifted-priors run's, and a control run's."""
    from harness.llm.fake import ScriptedModel
    from harness.runner import Models, RunRequest, start_run
    from harness.schema import BackendInfo

    def run(scenario: Path, out: Path, personas_dir: Path | None) -> tuple[str, list[str]]:
        model = ScriptedModel()
        models = Models(default=model, backend=BackendInfo(profile="scripted", model="scripted"))
        req = RunRequest(scenario=scenario, out_root=out, run_id=RUN_ID, personas_dir=personas_dir)
        result = asyncio.run(start_run(req, models))
        return result.status, _prompts(model)

    out: dict[str, dict[str, Any]] = {}
    for name in ("smoke", "tsd"):
        scenario = SCENARIOS[name]
        base = tmp_path_factory.mktemp(name)
        shifted_dir = _copy_personas(scenario, base / "shifted" / "personas", _shift_priors)
        bundle = load_bundle(scenario)
        head = bundle.scenario.delegations[0].head

        def louder(data: dict[str, Any], head: str = head) -> None:
            if data["id"] == head:
                data["voice"] = "Loud and theatrical; bangs the table."

        control_dir = _copy_personas(scenario, base / "control" / "personas", louder)
        out[name] = {
            "original": run(scenario, base / "runs-original", None),
            "shifted": run(scenario, base / "runs-shifted", shifted_dir),
            "control": run(scenario, base / "runs-control", control_dir),
            "shifted_dir": shifted_dir,
        }
    return out


@pytest.mark.parametrize("name", ["smoke", "tsd"])
def test_runs_complete_and_send_prompts(runs: dict[str, dict[str, Any]], name: str) -> None:
    for variant in ("original", "shifted", "control"):
        status, prompts = runs[name][variant]
        assert status == "completed", (name, variant)
        assert len(prompts) > 10


@pytest.mark.parametrize("name", ["smoke", "tsd"])
def test_no_prompt_mentions_priors(runs: dict[str, dict[str, Any]], name: str) -> None:
    visible = _visible_text(SCENARIOS[name])
    for variant in ("original", "shifted"):
        _, prompts = runs[name][variant]
        for prompt in prompts:
            assert "stance_priors" not in prompt
            assert MARKER_AXIS not in prompt
            for message in json.loads(prompt)["messages"]:
                text = _norm(message["content"])
                assert "stance prior" not in text.lower()
                assert not re.search(r"\bpriors\b", text, re.I)
                # "prior" may appear only inside quoted content (a persona's constraint mentions "prior
                # consultation"), never in what the templates add around it
                for line in message["content"].splitlines():
                    for m in re.finditer(r"\bprior\b", line, re.I):
                        after = _norm(line[m.start() : m.end() + 30])  # the word and what follows it
                        assert after in visible, f"'prior' in a prompt outside the content: {line!r}"


@pytest.mark.parametrize("name", ["smoke", "tsd"])
def test_priors_do_not_change_any_prompt(runs: dict[str, dict[str, Any]], name: str) -> None:
    original = runs[name]["original"][1]
    shifted = runs[name]["shifted"][1]
    assert len(original) == len(shifted)
    for a, b in zip(original, shifted, strict=True):
        assert a == b


@pytest.mark.parametrize("name", ["smoke", "tsd"])
def test_the_comparison_is_not_vacuous(runs: dict[str, dict[str, Any]], name: str) -> None:
    """Changing a visible field in the copied persona files does change prompts (copies are read)."""
    original = runs[name]["original"][1]
    control = runs[name]["control"][1]
    assert original != control
    assert any("bangs the table" in p for p in control)
    # and the shifted copies really differ from the shipped files in their priors
    shifted = load_bundle(SCENARIOS[name], runs[name]["shifted_dir"])
    shipped = load_bundle(SCENARIOS[name])
    for pid, persona in shifted.personas.items():
        assert persona.stance_priors != shipped.personas[pid].stance_priors
        assert persona.model_dump(exclude={"stance_priors"}) == shipped.personas[pid].model_dump(
            exclude={"stance_priors"}
        )


def test_shipped_personas_have_priors_to_hide() -> None:
    """The check above means something: the shipped delegation personas do carry priors."""
    bundle = load_bundle(SCENARIOS["tsd"])
    with_priors = [p for p in bundle.personas.values() if p.stance_priors]
    assert len(with_priors) >= len(bundle.personas) - 1  # Control may have none
    assert all(set(p.stance_priors) <= set(bundle.scenario.axes) for p in with_priors)


def test_persona_view_strips_priors() -> None:
    for path in SCENARIOS.values():
        for persona in load_bundle(path).personas.values():
            view = persona_view(persona)
            assert "stance_priors" not in view
            assert view["name"] == persona.name and view["voice"] == persona.voice
            assert "prior" not in json.dumps(sorted(view)).lower()


def test_templates_never_name_priors() -> None:
    for template in sorted((REPO_ROOT / "prompts").glob("*.md")):
        text = template.read_text(encoding="utf-8")
        assert "stance_priors" not in text, template
        assert not re.search(r"\bpriors?\b", text, re.I), template


def test_undefined_variables_are_errors(tmp_path: Path) -> None:
    (tmp_path / "t.md").write_text("Hello {{ persona.name }} of {{ delegation.name }}", encoding="utf-8")
    prompts = Prompts(tmp_path)
    assert prompts.render("t", persona={"name": "A"}, delegation={"name": "B"}) == "Hello A of B"
    with pytest.raises(TemplateError, match="undefined"):
        prompts.render("t", persona={"name": "A"})
    with pytest.raises(TemplateError, match="not found"):
        prompts.render("missing")
    with pytest.raises(TemplateError):
        Prompts(tmp_path / "nowhere")
    assert set(prompts.hashes()) == {"t"}
