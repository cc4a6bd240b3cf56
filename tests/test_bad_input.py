"""The soak's findings (issue 15), each reproduced: hostile input ends in one line and exit 2.

1. ``harness import`` of a CSV with a field over csv's default limit died with ``_csv.Error``; one with
   an unterminated quote imported with exit 0, the rest of the file swallowed into one field.
2. ``harness score | report | show`` on a transcript with one deeply nested JSON line died with
   ``RecursionError``.
3. A YAML file naming a key twice validated: YAML keeps the last value, so an edit silently overrode
   another. Likewise harness.toml (refused by tomllib, but with a message naming no file line).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from evals.importers import MAX_STATEMENT_CHARS, import_record, parse_markdown
from evals.reliability import read_gold
from evals.scorers.rules import load_codebook
from evals.scores_io import read_scores
from harness import jsonl
from harness.batch.spec import load_experiment
from harness.cli import main
from harness.errors import ConfigError, DataError
from harness.llm.config import resolve_backend
from harness.loaders import load_persona, load_rubric, load_scenario
from harness.transcript import Run, TranscriptWriter

REPO = Path(__file__).resolve().parents[1]
SAMPLE = next((REPO / "transcripts" / "samples").glob("*/transcript.jsonl"))
HEADER = "move,delegation,speaker,text\n"


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit status and the stderr text of ``harness argv`` (in process)."""
    capsys.readouterr()
    rc = main(argv)
    return rc, capsys.readouterr().err


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ------------------------------------------------------------------------------------------------
# 1. CSV imports
# ------------------------------------------------------------------------------------------------


def test_csv_field_over_the_old_limit_imports_up_to_the_documented_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long = "x" * 131_073  # one more than csv's default field limit
    src = tmp_path / "long.csv"
    src.write_text(HEADER + f"1,ROK,A,{long}\n1,US,B,short\n", encoding="utf-8")
    rc, err = cli(["import", str(src), "--out", str(tmp_path / "runs"), "--run-id", "r"], capsys)
    assert rc == 0, err
    texts = [u.text for u in Run.load(tmp_path / "runs" / "r").utterances()]
    assert texts == [long, "short"]


@pytest.mark.parametrize("quoted", [False, True])
def test_csv_field_over_the_limit_is_one_error_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quoted: bool
) -> None:
    field = "y" * (MAX_STATEMENT_CHARS + 1)
    if quoted:
        field = f'"{field}"'
    src = tmp_path / "huge.csv"
    src.write_text(HEADER + "1,ROK,A,ok\n\n" + f"1,US,B,{field}\n", encoding="utf-8")
    rc, err = cli(["import", str(src), "--out", str(tmp_path / "runs")], capsys)
    assert rc == 2
    line = one_error_line(err)
    assert f"{src}:4:" in line and "longer than 1,000,000 characters" in line
    assert not (tmp_path / "runs").exists()


def test_csv_field_far_over_the_limit_is_refused_by_csv_itself(tmp_path: Path) -> None:
    src = tmp_path / "huger.csv"
    src.write_text(HEADER + '1,ROK,A,"' + "z" * (2 * MAX_STATEMENT_CHARS + 5) + '"\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"huger\.csv:2: a field is longer than 1,000,000 characters"):
        import_record(src, tmp_path / "runs")


def test_csv_unterminated_quote_names_the_line_where_the_field_began(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "open.csv"
    body = '1,ROK,A,fine\n1,ROK,A,"a quoted\nfield over two lines"\n1,US,B,"never closed\n1,US,B,second\n'
    src.write_text(HEADER + body, encoding="utf-8")
    rc, err = cli(["import", str(src), "--out", str(tmp_path / "runs")], capsys)
    assert rc == 2
    line = one_error_line(err)
    assert f"{src}:5:" in line and "quoted field is never closed" in line


def test_csv_stray_quote_after_a_closed_field_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "stray.csv"
    src.write_text(HEADER + '1,ROK,A,"hello" there\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"stray\.csv:2: a quoted field must end"):
        import_record(src, tmp_path / "runs")


def test_csv_quotes_inside_an_unquoted_field_stay_text(tmp_path: Path) -> None:
    src = tmp_path / "said.csv"
    src.write_text(HEADER + '1,ROK,A,he said "no" twice\n', encoding="utf-8")
    [u] = Run.load(import_record(src, tmp_path / "runs")).utterances()
    assert u.text == 'he said "no" twice'


def test_markdown_statement_over_the_limit_names_the_line_it_began(tmp_path: Path) -> None:
    chunk = "w" * 1000
    text = "## Move 1\nAmb. Lee (ROK): start\n" + f"{chunk}\n" * (MAX_STATEMENT_CHARS // 1000 + 1)
    with pytest.raises(DataError, match=r"rec\.md:2: a statement is longer than 1,000,000"):
        parse_markdown(text, "rec.md")


def test_markdown_long_heading_line_is_read(tmp_path: Path) -> None:
    """A heading of spaces and hashes took cubic time in the old heading regex (minutes at 8 kB)."""
    heading = "# a" + " " * 20_000 + "#" * 20_000 + " x"
    record = parse_markdown(heading + "\n## Move 1: Opening ##\nAmb. Lee (ROK): hello\n", "rec.md")
    assert record.moves == {"m1": ("Opening", "")} and [ln.text for ln in record.lines] == ["hello"]


# ------------------------------------------------------------------------------------------------
# 2. Transcripts (and the other JSONL readers)
# ------------------------------------------------------------------------------------------------


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.fixture
def deep_run(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(3, _deep(100_000) + "\n")
    (folder / "transcript.jsonl").write_text("".join(lines), encoding="utf-8")
    return folder


@pytest.mark.parametrize("command", [["show"], ["score", "--scorer", "rules"], ["report"]])
def test_deeply_nested_transcript_line_is_one_error(
    deep_run: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    rc, err = cli([command[0], str(deep_run), *command[1:]], capsys)
    assert rc == 2
    line = one_error_line(err)
    assert f"{deep_run / 'transcript.jsonl'}:4:" in line and "nested more than 64 levels" in line


def test_deep_last_line_is_refused_not_forgiven_as_torn(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    path.write_text(SAMPLE.read_text(encoding="utf-8") + _deep(70) + "\n", encoding="utf-8")
    n = SAMPLE.read_text(encoding="utf-8").count("\n") + 1
    with pytest.raises(DataError, match=rf"transcript\.jsonl:{n}: .*nested more than 64"):
        Run.load(path)
    with pytest.raises(DataError, match="nested more than 64"):
        TranscriptWriter(path)  # a resume refuses it too, and does not truncate it away
    assert path.read_text(encoding="utf-8").endswith(_deep(70) + "\n")


def test_oversized_transcript_line_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 4096)
    path = tmp_path / "transcript.jsonl"
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(1, json.dumps({"pad": "p" * 5000}) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match=r"transcript\.jsonl:2: .*over the limit of 4,096"):
        Run.load(path)


def test_nesting_within_the_limit_and_brackets_in_strings_are_read() -> None:
    value = jsonl.loads_line(("[" * 64 + "]" * 64).encode())
    for _ in range(63):
        [value] = value
    assert value == []
    assert jsonl.loads_line(json.dumps({"text": "[" * 5000}).encode()) == {"text": "[" * 5000}
    assert not jsonl.too_deep(("[" * 64 + "]" * 64).encode())
    assert jsonl.too_deep(("[" * 65 + "]" * 65).encode())


def test_deep_score_and_gold_lines_are_one_error(tmp_path: Path) -> None:
    scores = tmp_path / "rules.jsonl"
    scores.write_text("\n" + _deep(5000) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"rules\.jsonl:2: JSON nested more than 64"):
        read_scores(scores)
    gold = tmp_path / "gold.jsonl"
    gold.write_text(_deep(5000) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"gold\.jsonl:1: JSON nested more than 64"):
        read_gold(gold)


def test_score_lines_split_only_at_line_ends(tmp_path: Path) -> None:
    """U+2028 inside a JSON string is not a line break (str.splitlines said it was)."""
    src = next((REPO / "transcripts" / "samples").glob("*/scores/rules.jsonl"))
    row = json.loads(src.read_text(encoding="utf-8").splitlines()[0])
    row["evidence"] = [{"utterance_id": "u1", "quote": "one\u2028two"}]
    path = tmp_path / "rules.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    [score] = read_scores(path)
    assert score.evidence[0].quote == "one\u2028two"


# ------------------------------------------------------------------------------------------------
# 3. Duplicate keys: YAML data files and harness.toml
# ------------------------------------------------------------------------------------------------


def _duplicate_first_key(src: Path, dst: Path) -> tuple[str, int, int]:
    """Copy ``src`` to ``dst`` with its first top-level key given twice; (key, first line, second line)."""
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(i for i, ln in enumerate(lines) if ln[:1].isalpha() and ":" in ln)
    key = lines[i].split(":", 1)[0]
    lines.insert(i + 1, f"{key}: overridden\n")
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join(lines), encoding="utf-8")
    return key, i + 1, i + 2


LOADERS: dict[str, tuple[Path, Callable[[Path], object]]] = {
    "scenario": (REPO / "scenarios" / "smoke.yaml", load_scenario),
    "persona": (REPO / "personas" / "control.yaml", load_persona),
    "rubric": (REPO / "evals" / "rubrics" / "neo.yaml", load_rubric),
    "codebook": (REPO / "evals" / "codebook.yaml", load_codebook),
    "experiment": (REPO / "experiments" / "example.yaml", load_experiment),
}


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_duplicate_top_level_key_is_refused_naming_both_lines(tmp_path: Path, kind: str) -> None:
    src, load = LOADERS[kind]
    dst = tmp_path / src.parent.name / src.name
    key, first, second = _duplicate_first_key(src, dst)
    with pytest.raises(DataError) as info:
        load(dst)
    assert str(info.value) == (
        f"{dst}:{second}: {key}: duplicate key {key!r}: first given at line {first}, again at line {second}"
    )


def test_validate_refuses_a_scenario_with_id_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dst = tmp_path / "scenarios" / "smoke.yaml"
    shutil.copytree(REPO / "personas", tmp_path / "personas")
    shutil.copytree(REPO / "evals" / "rubrics", tmp_path / "evals" / "rubrics")
    text = (REPO / "scenarios" / "smoke.yaml").read_text(encoding="utf-8")
    dst.parent.mkdir()
    dst.write_text(text.replace("\nid: smoke\n", "\nid: smoke\nid: other\n", 1), encoding="utf-8")
    rc, err = cli(["validate", str(dst)], capsys)
    assert rc == 2 and "duplicate key 'id'" in one_error_line(err)


@pytest.mark.parametrize(
    ("text", "where", "first"),
    [
        ("a:\n  - b: 1\n    c: 2\n    b: 3\n", ":4: a[0].b:", 2),  # nested, in a list item
        ("levels: {1: a, 0x1: b}\n", ":1: levels.1:", 1),  # equal once read: YAML would merge them
        ("levels: {4: a, 4.0: b}\n", ":1: levels.4.0:", 1),
    ],
)
def test_nested_and_equal_valued_duplicates(tmp_path: Path, text: str, where: str, first: int) -> None:
    path = tmp_path / "rubrics" / "neo.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_rubric(path)
    assert f"{path}{where}" in str(info.value) and f"first given at line {first}" in str(info.value)


def test_merge_key_override_is_not_a_duplicate(tmp_path: Path) -> None:
    src = REPO / "evals" / "rubrics" / "neo.yaml"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    text = "x-base: &base\n  title: base title\n<<: *base\n" + yaml.safe_dump(data, sort_keys=False)
    assert "\ntitle:" in text  # the merged title is overridden explicitly
    path = tmp_path / "rubrics" / "neo.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match="x-base: unknown field"):  # read, then refused for its extra key
        load_rubric(path)


def test_report_rubrics_go_through_the_loader(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A run whose workspace rubric has a duplicated key: the report's labels are read through the loader,
    so the duplicate is refused (and named) instead of silently taking the last value."""
    from harness.report.lookup import load_lookup
    from harness.resources import BUNDLED
    from harness.schema import BackendInfo, ManifestEvent, ScenarioRef

    ws = tmp_path / "ws"
    (ws / "scenarios").mkdir(parents=True)
    shutil.copy(REPO / "scenarios" / "smoke.yaml", ws / "scenarios")
    _duplicate_first_key(REPO / "evals" / "rubrics" / "neo.yaml", ws / "rubrics" / "neo.yaml")
    with TranscriptWriter(tmp_path / "run" / "transcript.jsonl") as w:
        w.write(
            ManifestEvent(
                key="manifest",
                run_id="r",
                created="2026-01-01T00:00:00Z",
                harness_version="test",
                scenario=ScenarioRef(
                    id="smoke", version="1.0", path=str(ws / "scenarios" / "smoke.yaml"), sha256="0"
                ),
                data_paths={"rubrics": [str(ws / "rubrics"), BUNDLED]},
                backend=BackendInfo(profile="scripted"),
            )
        )
    lookup = load_lookup(Run.load(tmp_path / "run"))
    assert "duplicate key" in caplog.text
    assert lookup.axis_title("neo") == "neo"  # not labelled from the refused file


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[backend]\nprofile = "ollama"\nmodel = "a"\nmodel = "b"\n', ":4: not valid TOML: key 'model' given "
         "twice (first at line 3)"),
        ('[backend]\nmodel = "a"\n\n[backend]\nmodel = "b"\n', ":4: not valid TOML: table [backend] given "
         "twice (first at line 1)"),
        ('[backend]\nmodel = "a', ":2: not valid TOML: Unterminated string"),
        # found by the fuzz suite: a key above the [backend] header was silently ignored
        ('# settings\nmodel = "a"\n[backend]\nprofile = "ollama"\n', ":2: key 'model' is outside any table: "
         "put it under [backend] or [data]"),
    ],
)  # fmt: skip
def test_toml_errors_name_file_and_line(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "harness.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        resolve_backend(env={}, toml_path=path)
    assert str(info.value) == f"{path}{expected}"


# ------------------------------------------------------------------------------------------------
# Found by the fuzz suite
# ------------------------------------------------------------------------------------------------


def test_a_unit_scored_twice_in_one_file_is_a_data_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It left `harness divergence` with exit 1 and a message naming no file."""
    src = next((REPO / "transcripts" / "samples").glob("*/scores/rules.jsonl"))
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "rules.jsonl"
    path.write_text("".join([*lines, lines[0]]), encoding="utf-8")
    rc, err = cli(["divergence", str(path), "--n-boot", "0"], capsys)
    assert rc == 2
    assert f"{path}:{len(lines) + 1}:" in one_error_line(err) and "(first at line 1)" in err


def test_report_refuses_a_scores_file_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It escaped from `harness report` as a UnicodeDecodeError."""
    folder = tmp_path / "run"
    (folder / "scores").mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "transcript.jsonl")
    (folder / "scores" / "rules.jsonl").write_bytes(b"\x80\n")
    rc, err = cli(["report", str(folder)], capsys)
    assert rc == 2 and "rules.jsonl:1: not UTF-8 text" in one_error_line(err)


def _codebook_with(tmp_path: Path, macros: dict[str, str], relevance: str) -> Path:
    doc = yaml.safe_load((REPO / "evals" / "codebook.yaml").read_text(encoding="utf-8"))
    doc["macros"] = {**doc.get("macros", {}), **macros}
    doc["axes"]["neo"]["relevance"] = [relevance]
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_a_macro_that_includes_itself_is_refused(tmp_path: Path) -> None:
    """It was read as a literal ``{LOOP}`` after 8 rounds; an eightfold one (``{LOOP}`` × 8) grew the
    pattern past 100 MB in those rounds and load_codebook did not return."""
    path = _codebook_with(tmp_path, {"LOOP": "{LOOP}{LOOP}"}, "{LOOP}")
    with pytest.raises(DataError, match=r"axes\.neo\.relevance\[0\]: macros do not resolve"):
        load_codebook(path)


def test_a_macro_growing_past_the_limit_stops_early(tmp_path: Path) -> None:
    path = _codebook_with(tmp_path, {"LOOP": "{LOOP}" * 8}, "{LOOP}")
    with pytest.raises(DataError, match="macros do not resolve"):
        load_codebook(path)  # returns at once: expansion stops past MAX_PATTERN_CHARS


def test_a_deeply_nested_pattern_is_refused(tmp_path: Path) -> None:
    """re.compile raised RecursionError on groups nested 500 deep."""
    path = _codebook_with(tmp_path, {}, "(" * 500 + "x" + ")" * 500)
    with pytest.raises(DataError, match=r"relevance\[0\]: regular expression too deeply nested"):
        load_codebook(path)


def test_a_deeply_nested_cache_entry_is_a_miss(tmp_path: Path) -> None:
    """A damaged response-cache entry is ignored; a deeply nested one escaped as RecursionError."""
    from harness.llm.cache import CachedReply, ResponseCache

    cache = ResponseCache(tmp_path)
    cache.put("ab" * 32, CachedReply("hello", "m", 3, 1))
    next(tmp_path.rglob("*.json")).write_text(_deep(100_000), encoding="utf-8")
    assert cache.get("ab" * 32) is None and cache.misses == 1


def test_a_deeply_nested_cue_pattern_is_refused(tmp_path: Path) -> None:
    """The schema's own regex check let RecursionError out of pydantic validation."""
    doc = yaml.safe_load((REPO / "evals" / "codebook.yaml").read_text(encoding="utf-8"))
    levels = doc["axes"]["neo"]["levels"]
    levels[next(iter(levels))][0]["pattern"] = "(" * 500 + "x" + ")" * 500
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(DataError, match=r"pattern: regular expression too deeply nested"):
        load_codebook(path)


# ------------------------------------------------------------------------------------------------
# found by the verification: usage errors, sensitivity's sniffing, an empty persona list
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuchcmd"], "No such command 'nosuchcmd'"),
        (["show"], "Missing argument 'RUN'"),
        (["show", "x", "--bogus"], "No such option: --bogus"),
    ],
)
def test_a_usage_error_is_one_message_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """typer ≥ 0.26 raises its own copy of click's errors; they are shown, not a traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"id: x\n\xff\xfe not text\n", "not UTF-8"), (b"a: " + b"[" * 5000 + b"]" * 5000, "invalid YAML")],
)
def test_sensitivity_on_an_unreadable_file_is_one_error(
    tmp_path: Path, content: bytes, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    assert main(["sensitivity", str(path), "--experiment", "identity-swap", "--reps", "1"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "odd.yaml" in err and "Traceback" not in err


def test_an_experiment_without_persona_variants_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "experiments" / "example.yaml").read_text(encoding="utf-8"))
    data["personas"] = []
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(DataError, match="personas"):
        load_experiment(path)
