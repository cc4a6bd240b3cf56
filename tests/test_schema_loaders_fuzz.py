"""Fuzzing the loaders (random bytes, odd YAML, mutated and edited real files): no exception but
:class:`DataError` escapes.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import DataError
from tests.test_schema_loaders import LOADERS, MINI, MINI_SCENARIO, REPO_ROOT

# ------------------------------------------------------------------------------------------------
# fuzzing: nothing but DataError escapes the loaders
# ------------------------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

REAL_FILES = {
    "persona": sorted([*(REPO_ROOT / "personas").glob("*.yaml"), *(MINI / "personas").glob("*.yaml")]),
    "scenario": sorted([*(REPO_ROOT / "scenarios").glob("*.yaml"), MINI_SCENARIO]),
    "rubric": sorted([*(REPO_ROOT / "evals" / "rubrics").glob("*.yaml"), *(MINI / "rubrics").glob("*.yaml")]),
}
REAL_DATA = {
    kind: [(p, yaml.safe_load(p.read_text(encoding="utf-8"))) for p in ps] for kind, ps in REAL_FILES.items()
}

FIELD_NAMES = sorted(
    {"id", "name", "title", "delegation", "role", "background", "interests", "constraints", "red_lines",
     "voice", "stance_priors", "sources", "version", "setting", "date", "place", "delegations", "head",
     "members", "brief", "control", "non_player_actors", "notes", "axes", "moves", "inject",
     "set_questions", "caucus_rounds", "plenary_rounds", "consequences", "branches", "when", "goto", "axis",
     "op", "level", "question", "levels", "not_addressed"}
)  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["head", "facilitator", "<=", "NOR", "cut", "cable_attribution", "", "0", "4", "5"])
)
WEIRD_KEYS = ["two\nlines", "[/x]", "[bold]", "a.b", "", " ", "\x00", "-", "[0]", "int", "\u2028", "é"]
keys = (
    st.sampled_from(FIELD_NAMES)
    | st.sampled_from(WEIRD_KEYS)
    | st.text(max_size=8)
    | st.integers(-2, 6)
    | st.booleans()
    | st.none()
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=25,
)


def _load_expecting_data_error(kind: str, path: Path) -> None:
    try:
        LOADERS[kind](path)
    except DataError as err:
        message = str(err)
        assert err.path == str(path)
        assert message.startswith(str(path))
        assert "\n" not in message and "\r" not in message, message
        assert err.line is None or err.line >= 1


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(
    kind=st.sampled_from(sorted(LOADERS)),
    data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
)
def test_fuzz_random_bytes(fuzz_dir: Path, kind: str, data: bytes) -> None:
    path = fuzz_dir / f"random_{kind}.yaml"
    path.write_bytes(data)
    _load_expecting_data_error(kind, path)


YAML_SNIPPETS = [
    "", "---", "...", "- a", "? [a, b]\n: 1", "a: &x [*x]", "a: *nope", "!!python/object:os.system {}",
    "a: !!binary ZZZ", "a: 2016-13-45", "a: 2016-02-30T25:61:00Z", "a: !!timestamp nope", "a: !!int x",
    "a: !!float x", "{a: 1", "a: [1, 2", "a:\n\t- b", "a: 'x", 'a: "\\x"', "%YAML 9.9\n---\na: 1",
    "a: 1\n---\nb: 2", "\ufeffa: 1", "a: b: c", "- [" * 50, "a: !!set {x, y}", "a: !!omap [x: 1]",
    "<<: {a: 1}", "<<: 3", "a: 1\na: 2", "? |\n  x\n: y", "levels: {0: a, 1: b, 2: c, 3: d, 4: e, 4.0: f}",
    "id: ''", "a: .nan", "a: 0x1F", "a: 1e400", "a: ~", "[" * 200 + "]" * 200, "{" * 200,
    "[" * 800 + "]" * 800, "a: !!str", "a: !!map [1]", "a: !!seq {b: 1}", "a: !!null x", "a: !!bool maybe",
    "a: !<tag:yaml.org,2002:timestamp> 1", "a: !local x", "a: 9999-12-31T23:59:59-23:59",
]  # fmt: skip


@pytest.mark.parametrize("kind", sorted(LOADERS))
@pytest.mark.parametrize("snippet", YAML_SNIPPETS, ids=range(len(YAML_SNIPPETS)))
def test_odd_yaml_gives_data_error(tmp_path: Path, kind: str, snippet: str) -> None:
    """Each snippet alone and after a valid file's text: DataError or a model, nothing else.

    ``a: !!timestamp nope`` used to escape as an AttributeError from inside PyYAML.
    """
    for i, text in enumerate([snippet, REAL_FILES[kind][0].read_text(encoding="utf-8") + "\n" + snippet]):
        path = tmp_path / f"{i}.yaml"
        path.write_text(text, encoding="utf-8")
        _load_expecting_data_error(kind, path)


@FUZZ
@given(
    kind=st.sampled_from(sorted(LOADERS)),
    doc=documents,
    snippet=st.sampled_from(YAML_SNIPPETS),
    style=st.sampled_from(["dump", "flow", "snippet", "doc+snippet"]),
)
def test_fuzz_yamlish_documents(fuzz_dir: Path, kind: str, doc: Any, snippet: str, style: str) -> None:
    if style == "dump":
        text = yaml.safe_dump(doc, allow_unicode=True)
    elif style == "flow":
        text = yaml.safe_dump(doc, default_flow_style=True)
    elif style == "snippet":
        text = snippet
    else:
        text = yaml.safe_dump(doc) + "\n" + snippet
    path = fuzz_dir / f"doc_{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    _load_expecting_data_error(kind, path)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _mutate(data: Any, path: tuple[Any, ...], op: str, value: Any) -> Any:
    if not path:
        return value if op == "replace" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "delete":
        del parent[last]
    elif op == "replace":
        parent[last] = value
    elif op == "insert" and isinstance(parent, dict):
        parent[value if isinstance(value, str | int | bool | None) else str(value)] = parent[last]
    elif op == "insert" and isinstance(parent, list):
        parent.insert(last, value)
    return data


@FUZZ
@given(data=st.data(), kind=st.sampled_from(sorted(LOADERS)))
def test_fuzz_mutated_real_files(fuzz_dir: Path, data: st.DataObject, kind: str) -> None:
    src, original = data.draw(st.sampled_from(REAL_DATA[kind]), label="file")
    doc = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths), label="path")
        op = data.draw(st.sampled_from(["delete", "replace", "insert"]), label="op")
        value = data.draw(documents, label="value")
        doc = _mutate(doc, path, op, value)
    out = fuzz_dir / src.name  # keep the file name: ids must match it
    out.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _load_expecting_data_error(kind, out)


@FUZZ
@given(data=st.data(), kind=st.sampled_from(sorted(LOADERS)))
def test_fuzz_text_edits_of_real_files(fuzz_dir: Path, data: st.DataObject, kind: str) -> None:
    """Character-level damage: insert, delete or replace random unicode at random offsets."""
    src = data.draw(st.sampled_from(REAL_FILES[kind]), label="file")
    text = src.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        i = data.draw(st.integers(0, len(text)), label="at")
        j = data.draw(st.integers(i, min(len(text), i + 40)), label="to")
        ins = data.draw(
            st.text(max_size=6) | st.sampled_from([":", "-", "\n", "  ", "[", "{", "&a", "*a", "\t", '"'])
        )
        text = text[:i] + ins + text[j:]
    out = fuzz_dir / src.name
    out.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    _load_expecting_data_error(kind, out)


def test_fuzz_helpers_really_mutate() -> None:
    """Guard the fuzzers: a deleted required key is an error naming that key."""
    _, original = REAL_DATA["persona"][0]
    doc = _mutate(copy.deepcopy(original), ("voice",), "delete", None)
    assert "voice" not in doc
    assert json.dumps(doc) != json.dumps(original)
