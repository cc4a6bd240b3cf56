"""The data contract and its loaders: shipped and mini content load, errors are located, fuzzing the
loaders (test_schema_loaders_fuzz.py) lets no exception but :class:`DataError` escape, and nothing is
hard-wired to the TSD content.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import DataError
from harness.loaders import (
    check_references,
    detect_kind,
    load_bundle,
    load_persona,
    load_rubric,
    load_scenario,
)
from harness.schema import AxisScore, PositionCard, PositionCardEvent, Scenario, Stance
from harness.transcript import Run

REPO_ROOT = Path(__file__).resolve().parent.parent
MINI = REPO_ROOT / "tests" / "fixtures" / "mini"
MINI_SCENARIO = MINI / "scenarios" / "mini.yaml"
TSD = REPO_ROOT / "scenarios" / "tsd-2016-nk-crisis.yaml"
SMOKE = REPO_ROOT / "scenarios" / "smoke.yaml"

LOADERS = {"persona": load_persona, "scenario": load_scenario, "rubric": load_rubric}


# ------------------------------------------------------------------------------------------------
# shipped content and the mini scenario
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [TSD, SMOKE, MINI_SCENARIO], ids=["tsd", "smoke", "mini"])
def test_bundles_load_with_every_reference(path: Path) -> None:
    bundle = load_bundle(path)
    scenario = bundle.scenario
    assert set(bundle.personas) == set(scenario.persona_ids())
    assert set(bundle.rubrics) == set(scenario.axes)
    assert bundle.personas[scenario.control].delegation is None
    for d in scenario.delegations:
        assert d.head in d.members
        assert all(bundle.personas[m].delegation == d.id for m in d.members)
    ids = [m.id for m in scenario.moves]
    assert all(b.goto in ids for m in scenario.moves for b in m.branches)
    assert set(bundle.persona_hashes()) == set(scenario.persona_ids())


def test_tsd_scenario_shape() -> None:
    """The issue's content: 5 moves, each with set questions, at least one branch, sources everywhere."""
    bundle = load_bundle(TSD)
    s = bundle.scenario
    assert len(s.moves) == 5
    assert all(m.set_questions for m in s.moves)
    assert any(m.branches for m in s.moves)
    assert s.sources
    assert all(p.sources for p in bundle.personas.values())
    for d in s.delegations:
        assert 3 <= len(d.members) <= 4
    smoke = load_scenario(SMOKE)
    assert len(smoke.moves) == 1
    assert all(len(d.members) == 2 for d in smoke.delegations)


def test_mini_scenario_is_unrelated() -> None:
    """The mini scenario shares no delegation, axis, persona or move id with the TSD content."""
    mini = load_bundle(MINI_SCENARIO).scenario
    tsd = load_bundle(TSD).scenario
    assert {d.id for d in mini.delegations} == {"NOR", "FIN"}
    assert mini.axes == ["cable_attribution"]
    assert not {d.id for d in mini.delegations} & {d.id for d in tsd.delegations}
    assert not set(mini.axes) & set(tsd.axes)
    assert not set(mini.persona_ids()) & set(tsd.persona_ids())


def test_mini_scenario_runs_end_to_end(tmp_path: Path, scripted_run: Any) -> None:
    """Nothing is hard-wired: other delegations and a custom axis run through the whole loop."""
    bundle = load_bundle(MINI_SCENARIO)
    result, model = scripted_run(MINI_SCENARIO, tmp_path)
    assert result.status == "completed"
    run = Run.load(result.folder)
    assert run.manifest.scenario.id == "mini"
    assert run.moves() == [m.id for m in bundle.scenario.moves]
    cards = run.cards()
    assert {(c.move, c.delegation) for c in cards} == {
        (m.id, d.id) for m in bundle.scenario.moves for d in bundle.scenario.delegations
    }
    for ev in cards:
        assert [s.axis for s in ev.card.stances] == ["cable_attribution"]
    assert set(run.delegations()) == {"NOR", "FIN"}
    speakers = {u.speaker for u in run.utterances()}
    assert speakers <= set(bundle.scenario.persona_ids())
    assert speakers >= {"nor-mfa", "fin-mfa"}
    assert [a.move for a in run.adjudications()] == run.moves()
    # the card prompt offers the custom axis with its rubric's anchors, and no TSD axis
    card_prompts = [c.prompt_text for c in model.calls if c.response_model is not None]
    assert card_prompts
    rubric = bundle.rubrics["cable_attribution"]
    tsd_rubrics = load_bundle(TSD).rubrics
    for text in card_prompts:
        assert "cable_attribution" in text
        assert rubric.levels[3] in text
        assert not re.search(r"\b(neo|china_messaging)\b", text)  # ("territorial waters" is content)
        assert not any(r.title in text or r.question in text for r in tsd_rubrics.values())
    end = run.run_end()
    assert end is not None and end.status == "completed"


# ------------------------------------------------------------------------------------------------
# a static check: no TSD delegation or axis literal in the code
# ------------------------------------------------------------------------------------------------

FORBIDDEN_LITERALS = ('"neo"', '"ROK"', '"JPN"', '"US"', "'neo'", "'ROK'", "'JPN'", "'US'")
FORBIDDEN_WORDS = ("china_messaging", "territorial")


def _code_tokens(path: Path) -> list[tuple[int, str]]:
    """(line, token) for string literals and names, docstrings and comments excluded."""
    out: list[tuple[int, str]] = []
    prev = None
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if tok.type == tokenize.STRING:
            # a string statement on its own (after NEWLINE/INDENT/start) is a docstring: prose, not code
            if prev is None or prev in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL):
                prev = tok.type
                continue
            out.append((tok.start[0], tok.string))
        elif tok.type == tokenize.NAME:
            out.append((tok.start[0], tok.string))
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            prev = tok.type
    return out


def test_no_tsd_literals_in_code() -> None:
    """No code under harness/ or evals/ names the TSD delegations or axes.

    Docstrings and comments may mention them as examples (the gold files use those ids), so the check
    reads Python tokens: string literals and names, not prose. Data files (YAML) are content, not code.
    """
    offenders = []
    files = sorted([*(REPO_ROOT / "harness").rglob("*.py"), *(REPO_ROOT / "evals").rglob("*.py")])
    assert len(files) > 10
    for f in files:
        for line, tok in _code_tokens(f):
            body = tok.lstrip("rbuRBUfF")
            quoted = {body} | ({f'"{body[1:-1]}"'} if body[:1] == "'" else set())
            if quoted & set(FORBIDDEN_LITERALS) or any(w in tok for w in FORBIDDEN_WORDS):
                offenders.append(f"{f.relative_to(REPO_ROOT)}:{line}: {tok}")
    assert not offenders, "\n".join(offenders)


def test_static_check_catches_a_literal(tmp_path: Path) -> None:
    """The tokenizer-based check above really sees literals (and skips docstrings)."""
    f = tmp_path / "bad.py"
    f.write_text('"""Mentions "ROK" in prose."""\nAXES = ["neo", \'JPN\']\nx = territorial_claims\n')
    toks = [t for _, t in _code_tokens(f)]
    assert '"neo"' in toks and "'JPN'" in toks and "territorial_claims" in toks
    assert not any("ROK" in t for t in toks)


# ------------------------------------------------------------------------------------------------
# located errors
# ------------------------------------------------------------------------------------------------


def _mini_data() -> dict[str, Any]:
    return yaml.safe_load(MINI_SCENARIO.read_text(encoding="utf-8"))


def _write_scenario(tmp_path: Path, data: dict[str, Any]) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line]
    return hits[nth - 1]


@pytest.mark.parametrize(
    ("mutate", "field", "needle", "cause"),
    [
        (
            lambda d: d["delegations"][1].update(id="NOR"),
            "delegations[1].id",
            ("id: NOR", 2),
            "appears twice",
        ),
        (lambda d: d["moves"][1].update(id="cut"), "moves[1].id", ("id: cut", 2), "share the id 'cut'"),
        (
            lambda d: d["delegations"][0]["members"].append("nor-mfa"),
            "delegations[0].members[2]",
            ("- nor-mfa", 2),
            "twice",
        ),
        (
            lambda d: d["moves"][0].update(
                branches=[
                    {
                        "when": [{"delegation": "SWE", "axis": "cable_attribution", "op": "<=", "level": 1}],
                        "goto": "anchor",
                    }
                ]
            ),
            "moves[0].branches[0].when[0].delegation",
            ("delegation: SWE", 1),
            "unknown delegation 'SWE'",
        ),
        (
            lambda d: d["moves"][0].update(
                branches=[
                    {
                        "when": [{"delegation": "NOR", "axis": "fish", "op": "<=", "level": 1}],
                        "goto": "anchor",
                    }
                ]
            ),
            "moves[0].branches[0].when[0].axis",
            ("axis: fish", 1),
            "axis 'fish' not in axes",
        ),
    ],
    ids=["dup-delegation", "dup-move", "dup-member", "branch-delegation", "branch-axis"],
)
def test_model_level_checks_name_field_and_line(
    tmp_path: Path, mutate: Any, field: str, needle: tuple[str, int], cause: str
) -> None:
    data = _mini_data()
    mutate(data)
    p = _write_scenario(tmp_path, data)
    with pytest.raises(DataError) as info:
        load_scenario(p)
    err = info.value
    assert err.path == str(p)
    assert err.field == field
    assert err.line == _line_of(p, *needle)
    assert cause in err.cause
    assert "Value error" not in str(err)


def test_check_references_lists_every_problem(tmp_path: Path) -> None:
    data = _mini_data()
    data["delegations"][0]["members"] = ["nor-mfa", "ghost"]
    data["delegations"][1]["members"] = ["fin-mfa", "nor-coastguard"]
    data["axes"] = ["cable_attribution", "fish"]
    data["control"] = "nobody"
    p = _write_scenario(tmp_path, data)
    bundle = load_bundle(MINI_SCENARIO)
    errors = check_references(load_scenario(p), p, bundle.personas, bundle.rubrics)
    assert [e.field for e in errors] == [
        "control",
        "delegations[0].members[1]",
        "delegations[1].members[1]",
        "axes[1]",
    ]
    assert all(e.line is not None and e.path == str(p) for e in errors)
    # load_bundle refuses the scenario with the first problem
    with pytest.raises(DataError, match="control persona 'nobody' not found"):
        load_bundle(p, MINI / "personas", MINI / "rubrics")


def test_check_references_without_a_readable_file() -> None:
    """Line numbers are a nicety: a scenario built in memory still gets its errors, without lines."""
    bundle = load_bundle(MINI_SCENARIO)
    errors = check_references(bundle.scenario, Path("/no/such/file.yaml"), {}, {})
    assert errors and all(e.line is None for e in errors)
    assert errors[0].field == "control"


def test_detect_kind(tmp_path: Path) -> None:
    assert detect_kind(MINI_SCENARIO) == "scenario"
    assert detect_kind(REPO_ROOT / "evals" / "rubrics" / "neo.yaml") == "rubric"
    headed = tmp_path / "x.yaml"
    headed.write_text("# yaml-language-server: $schema=../schemas/persona.schema.json\nid: x\n")
    assert detect_kind(headed) == "persona"
    plain = tmp_path / "rubrics" / "y.yaml"
    plain.parent.mkdir()
    plain.write_bytes(b"\xff\xfe")
    assert detect_kind(plain) == "rubric"
    assert detect_kind(tmp_path / "z.yaml") is None


def test_loaders_check_file_names(tmp_path: Path) -> None:
    src = (MINI / "rubrics" / "cable_attribution.yaml").read_text(encoding="utf-8")
    other = tmp_path / "other_axis.yaml"
    other.write_text(src, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_rubric(other)
    assert info.value.field == "axis"
    assert info.value.line == _line_of(other, "axis: cable_attribution")


def test_missing_and_folder_paths(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_persona(tmp_path / "nobody.yaml")
    with pytest.raises(DataError, match="is a folder"):
        load_scenario(tmp_path)


# ------------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------------


def test_scenario_version_may_be_a_number() -> None:
    data = _mini_data()
    data["version"] = 2
    assert Scenario.model_validate(data).version == "2"


def test_axis_score_dist_is_checked() -> None:
    base = {"run_id": "r", "move": "m", "delegation": "D", "axis": "a", "level": 2, "scorer": "s"}
    assert AxisScore.model_validate({**base, "dist": [0, 0.5, 0.5, 0, 0]}).dist == [0, 0.5, 0.5, 0, 0]
    for bad in ([1.0], [0.5, 0.5, 0.5, 0, 0], [-0.5, 1.5, 0, 0, 0]):
        with pytest.raises(ValueError):
            AxisScore.model_validate({**base, "dist": bad})
    with pytest.raises(ValueError):
        AxisScore.model_validate({**base, "level": 5})


def test_position_card_stance_lookup_and_event_round_trip() -> None:
    card = PositionCard(
        delegation="NOR", move="cut", stances=[Stance(axis="cable_attribution", level=None, rationale="")]
    )
    assert card.stance("cable_attribution") is not None
    assert card.stance("other") is None
    ev = PositionCardEvent(key="cut/card/NOR", move="cut", delegation="NOR", card=card)
    assert PositionCardEvent.model_validate_json(ev.model_dump_json()) == ev
