"""The committed JSON Schemas match the models, and every data file points its editor at one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.loaders import SCHEMA_HEADER, json_schemas
from harness.validate import file_kind, file_models

FILE_KINDS = list(file_models())

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = REPO_ROOT / "schemas"
DATA_DIRS = ["personas", "scenarios", "evals/rubrics", "tests/fixtures/mini", "experiments"]
DATA_FILES = sorted(
    [*(f for d in DATA_DIRS for f in (REPO_ROOT / d).rglob("*.y*ml")), REPO_ROOT / "evals" / "codebook.yaml"]
)


def test_schemas_command_writes_one_file_per_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nested" / "schemas"
    assert main(["schemas", "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{kind}.schema.json" for kind in FILE_KINDS)
    assert written == [
        "codebook.schema.json",
        "experiment.schema.json",
        "persona.schema.json",
        "rubric.schema.json",
        "scenario.schema.json",
    ]
    stdout = capsys.readouterr().out
    for name in written:
        schema = json.loads((out / name).read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False  # extra="forbid" reaches the editor too
        assert name in stdout


def test_committed_schemas_are_current(tmp_path: Path) -> None:
    """`harness schemas` regenerated now gives byte-identical files (run it after changing a model)."""
    assert main(["schemas", "--out", str(tmp_path)]) == 0
    for kind in FILE_KINDS:
        name = f"{kind}.schema.json"
        committed = SCHEMAS / name
        assert committed.is_file(), f"{committed} is missing: run `harness schemas`"
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        assert committed.read_text(encoding="utf-8") == fresh, f"{name} is stale: run `harness schemas`"
        assert json_schemas(file_models())[kind] == fresh


def test_schemas_describe_the_fields() -> None:
    persona = json.loads(json_schemas()["persona"])
    assert {"id", "delegation", "role", "stance_priors", "sources"} <= set(persona["properties"])
    assert set(persona["required"]) >= {"id", "name", "title", "role", "background", "voice"}
    scenario = json.loads(json_schemas()["scenario"])
    assert {"delegations", "control", "axes", "moves"} <= set(scenario["properties"])
    assert {"Move", "Branch", "Condition", "Delegation"} <= set(scenario["$defs"])


def test_there_are_data_files_to_check() -> None:
    names = {f.relative_to(REPO_ROOT).parts[0] for f in DATA_FILES}
    assert names == {"personas", "scenarios", "evals", "tests", "experiments"}
    assert len(DATA_FILES) >= 13 + 2 + 3 + 7 + 1 + 1


@pytest.mark.parametrize("path", DATA_FILES, ids=[str(f.relative_to(REPO_ROOT)) for f in DATA_FILES])
def test_every_yaml_file_has_a_schema_header(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(SCHEMA_HEADER), f"{path}: first line must be '{SCHEMA_HEADER}<relative path>'"
    target = first.removeprefix(SCHEMA_HEADER).strip()
    assert not target.startswith(("/", "http")), "use a path relative to the file"
    resolved = (path.parent / target).resolve()
    assert resolved.is_file(), f"{path}: {target} does not exist"
    assert resolved.parent == SCHEMAS.resolve()
    # the header names the right kind, the same one the folder says
    kind = resolved.name.removesuffix(".schema.json")
    assert kind in FILE_KINDS
    assert file_kind(path) == kind
    folder = "codebook" if path.name == "codebook.yaml" else path.parent.name
    expected = {"personas": "persona", "scenarios": "scenario", "rubrics": "rubric"}
    expected |= {"experiments": "experiment", "codebook": "codebook"}
    assert expected[folder] == kind
