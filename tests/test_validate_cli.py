"""``harness validate``: the shipped content passes; every broken fixture gives its documented error.

Each file under ``tests/fixtures/broken/`` states what is wrong with it and what must be reported, in
comment lines (see that folder's README)::

    # expect: field=<dotted field or -> line=<line or -> cause=<text the message contains>
    # with: <extra paths validated alongside it>

The tests below check the command's stderr against those lines: exit status 2, one ``error:`` line per
problem, naming the file, the line where the loader knows it, the field and the cause, never a
traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import main
from harness.validate import validate_paths

REPO_ROOT = Path(__file__).resolve().parent.parent

BROKEN = Path("tests/fixtures/broken")
MINI = Path("tests/fixtures/mini")
ZERO_BYTES = BROKEN / "personas" / "zero-bytes.yaml"


@dataclass
class Expected:
    field: str | None
    line: int | None
    cause: str


@dataclass
class Fixture:
    path: Path
    expected: list[Expected]
    with_paths: list[str]

    @property
    def argv(self) -> list[str]:
        return ["validate", *self.with_paths, str(self.path)]


_EXPECT = re.compile(r"^# expect: field=(?P<field>\S+) line=(?P<line>\S+) cause=(?P<cause>.+)$")


def _fixture(path: Path) -> Fixture:
    if path == ZERO_BYTES:
        return Fixture(path, [Expected(None, 1, "got empty")], [])
    text = (REPO_ROOT / path).read_bytes().decode("utf-8", errors="replace")
    expected, with_paths = [], []
    for line in text.splitlines():
        if m := _EXPECT.match(line):
            expected.append(
                Expected(
                    None if m["field"] == "-" else m["field"],
                    None if m["line"] == "-" else int(m["line"]),
                    m["cause"].strip(),
                )
            )
        elif line.startswith("# with:"):
            with_paths = line.removeprefix("# with:").split()
    assert expected, f"{path}: no '# expect:' line"
    return Fixture(path, expected, with_paths)


ALL_BROKEN = sorted(p.relative_to(REPO_ROOT) for p in (REPO_ROOT / BROKEN).rglob("*.yaml"))
FIXTURES = [_fixture(p) for p in ALL_BROKEN]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _check_output(fx: Fixture, rc: int, stderr: str) -> None:
    assert rc == 2, stderr
    assert "Traceback" not in stderr
    lines = _error_lines(stderr)
    assert len(lines) == len(fx.expected), f"one line per problem expected:\n{stderr}"
    for line, exp in zip(lines, fx.expected, strict=True):
        # error: FILE[:LINE][: FIELD]: CAUSE
        where = f"error: {fx.path}" + (f":{exp.line}" if exp.line is not None else "") + ": "
        assert line.startswith(where), f"expected {where!r}...\ngot {line!r}"
        rest = line.removeprefix(where)
        if exp.field is not None:
            assert rest.startswith(f"{exp.field}: "), f"field {exp.field!r} not named in {line!r}"
        else:
            assert not re.match(r"^\d+: ", rest), f"unexpected line number in {line!r}"
        assert exp.cause in rest, f"cause {exp.cause!r} not in {line!r}"
    # the summary line closes the report, and nothing else is printed
    assert re.search(rf"^{len(fx.expected)} problem\(s\); checked ", stderr, re.M), stderr
    assert len(stderr.strip().splitlines()) == len(lines) + 1, stderr


# ------------------------------------------------------------------------------------------------
# the shipped content
# ------------------------------------------------------------------------------------------------


def test_shipped_content_validates_in_a_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "validate", "personas/", "scenarios/", "evals/rubrics/"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert out.startswith("ok: "), out
    # every file was looked at: the counts match what is on disk
    n_personas = len(list((REPO_ROOT / "personas").glob("*.yaml")))
    n_scenarios = len(list((REPO_ROOT / "scenarios").glob("*.yaml")))
    n_rubrics = len(list((REPO_ROOT / "evals" / "rubrics").glob("*.yaml")))
    assert f"{n_personas} personas" in out
    assert f"{n_rubrics} rubrics" in out
    assert f"{n_scenarios} scenarios" in out


@pytest.mark.parametrize(
    "paths",
    [
        [str(MINI / "personas"), str(MINI / "scenarios"), str(MINI / "rubrics")],
        [str(MINI)],
        [str(MINI / "scenarios" / "mini.yaml")],  # cross-references found beside the scenario
    ],
    ids=["three-folders", "top-folder", "scenario-alone"],
)
def test_mini_scenario_validates(
    repo_root: Path, capsys: pytest.CaptureFixture[str], paths: list[str]
) -> None:
    rc = main(["validate", *paths])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert err == ""
    assert out.startswith("ok: ")
    assert "1 scenario" in out


def test_validate_paths_checks_every_file(repo_root: Path) -> None:
    report = validate_paths([Path("personas"), Path("scenarios"), Path("evals/rubrics")])
    assert report.ok, [str(e) for e in report.errors]
    assert sorted(p.name for p in report.checked["scenario"]) == ["smoke.yaml", "tsd-2016-nk-crisis.yaml"]
    assert len(report.checked["persona"]) == len(list(Path("personas").glob("*.yaml")))


# ------------------------------------------------------------------------------------------------
# broken fixtures
# ------------------------------------------------------------------------------------------------


def test_broken_fixtures_cover_the_brief() -> None:
    """The kinds of breakage the issue asks for are all present (a guard against losing fixtures)."""
    names = {p.stem for p in ALL_BROKEN}
    required = {
        "syntax-error", "missing-field", "unknown-field", "wrong-type", "bad-level", "branch-missing-move",
        "head-not-member", "missing-persona", "axis-without-rubric", "wrong-delegation", "empty",
        "top-level-list", "not-utf8", "zero-bytes",
    }  # fmt: skip
    assert required <= names, required - names
    for fx in FIXTURES:
        if fx.path != ZERO_BYTES:
            head = (REPO_ROOT / fx.path).read_bytes().splitlines()[:3]
            assert any(line.startswith(b"# BROKEN: ") for line in head), f"{fx.path}: say what is wrong"


@pytest.mark.parametrize("fx", FIXTURES, ids=[f"{p.parent.name}/{p.stem}" for p in ALL_BROKEN])
def test_broken_fixture_reports_its_error(
    repo_root: Path, capsys: pytest.CaptureFixture[str], fx: Fixture
) -> None:
    rc = main(fx.argv)
    out, err = capsys.readouterr()
    _check_output(fx, rc, err)
    assert "ok:" not in out


@pytest.mark.parametrize(
    "name",
    ["personas/syntax-error", "scenarios/branch-missing-move"],
)
def test_broken_fixture_in_a_subprocess(name: str) -> None:
    fx = next(f for f in FIXTURES if str(f.path).endswith(f"{name}.yaml"))
    proc = subprocess.run(
        [sys.executable, "-m", "harness", *fx.argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    _check_output(fx, proc.returncode, proc.stderr)


def test_line_numbers_point_at_the_culprit() -> None:
    """For the syntax error, the missing and the unknown field, the reported line holds the problem."""
    cases = {
        "personas/syntax-error.yaml": "title: Director: Office of Things",
        "personas/unknown-field.yaml": "hobbies:",
        "scenarios/missing-field.yaml": "- id: NOR",  # the delegation that lacks its brief
        "scenarios/branch-missing-move.yaml": "goto: nowhere",
        "scenarios/head-not-member.yaml": "head: fin-mfa",
        "personas/bad-level.yaml": "axis_b: 5",
    }
    for rel, text in cases.items():
        fx = next(f for f in FIXTURES if f.path == BROKEN / rel)
        line = fx.expected[0].line
        assert line is not None
        lines = (REPO_ROOT / fx.path).read_text(encoding="utf-8").splitlines()
        assert lines[line - 1].strip() == text, f"{rel}: line {line} is {lines[line - 1]!r}"


def test_every_expected_line_holds_yaml_content() -> None:
    """No expectation points at a comment or a blank line (except for empty files, at line 1)."""
    for fx in FIXTURES:
        lines = (REPO_ROOT / fx.path).read_bytes().decode("utf-8", errors="replace").splitlines()
        for exp in fx.expected:
            if exp.line is None or "got empty" in exp.cause:
                continue
            text = lines[exp.line - 1].strip()
            assert text and not text.startswith("#"), f"{fx.path}:{exp.line} is {text!r}"


def test_all_broken_files_at_once(repo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every broken persona and rubric gives exactly one line, naming it; the run goes on past errors."""
    rc = main(["validate", str(BROKEN / "personas"), str(BROKEN / "rubrics")])
    _, err = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in err
    lines = _error_lines(err)
    files = sorted(p for p in ALL_BROKEN if p.parent.name in {"personas", "rubrics"})
    assert len(lines) == len(files), err
    for f in files:
        assert sum(line.startswith(f"error: {f}:") for line in lines) == 1, f"{f} not reported once"


def test_a_good_file_among_bad_ones_is_still_checked(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        ["validate", str(MINI / "personas" / "nor-mfa.yaml"), str(BROKEN / "personas" / "bad-role.yaml")]
    )
    _, err = capsys.readouterr()
    assert rc == 2
    assert len(_error_lines(err)) == 1
    assert "checked 1 persona" in err


def test_missing_path_and_unknown_kind(
    repo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stray = tmp_path / "stray.yaml"
    stray.write_text("id: x\n", encoding="utf-8")
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    rc = main(["validate", "no/such/folder", str(stray), str(empty_dir)])
    _, err = capsys.readouterr()
    assert rc == 2
    lines = _error_lines(err)
    assert len(lines) == 3, err
    assert any("no/such/folder: no such file or folder" in line for line in lines)
    assert any(f"{stray}: cannot tell what this file is" in line for line in lines)
    assert any(f"{empty_dir}: no YAML files" in line for line in lines)


def test_markup_in_a_field_name_is_printed_verbatim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rich markup in user data must neither vanish nor crash the printer (it used to: MarkupError)."""
    folder = tmp_path / "personas"
    folder.mkdir()
    good = (REPO_ROOT / MINI / "personas" / "fin-navy.yaml").read_text(encoding="utf-8")
    for name, key in [("fin-navy", "[/x]"), ("fin-navy2", "[bold]y")]:
        (folder / f"{name}.yaml").write_text(good + f'"{key}": 1\n', encoding="utf-8")
    rc = main(["validate", str(folder)])
    _, err = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in err
    lines = _error_lines(err)
    assert len(lines) == 2, err
    assert "[/x]: unknown field" in lines[0]
    assert "[bold]y: unknown field" in lines[1]


def test_error_lines_stay_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A field name with a line break in it must not split the report line."""
    folder = tmp_path / "personas"
    folder.mkdir()
    good = (REPO_ROOT / MINI / "personas" / "fin-navy.yaml").read_text(encoding="utf-8")
    (folder / "fin-navy.yaml").write_text(good + '"two\\nlines": 1\n', encoding="utf-8")
    rc = main(["validate", str(folder)])
    _, err = capsys.readouterr()
    assert rc == 2
    assert len(err.strip().splitlines()) == 2, err  # the error and the summary


def _mini_copy(tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "mini"
    shutil.copytree(REPO_ROOT / MINI, root)
    # the copies' schema headers point outside tmp: irrelevant to validation
    return root


def test_a_file_named_twice_is_checked_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _mini_copy(tmp_path)
    bad = root / "personas" / "fin-navy.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("role: military", "role: spy"), encoding="utf-8")
    rc = main(["validate", str(root / "personas"), str(bad), str(root / "personas" / "fin-mfa.yaml")])
    _, err = capsys.readouterr()
    assert rc == 2
    assert len(_error_lines(err)) == 1, err
    assert "checked 4 personas" in err  # 5 files, one broken, none counted twice


@pytest.mark.parametrize("explicit", [True, False], ids=["persona-folder-given", "scenario-alone"])
def test_a_broken_persona_is_one_problem_not_three(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], explicit: bool
) -> None:
    """A persona file that fails to load is reported once, not again per scenario, nor as 'not found'."""
    root = _mini_copy(tmp_path)
    bad = root / "personas" / "nor-mfa.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("voice:", "vocie:"), encoding="utf-8")
    second = root / "scenarios" / "mini2.yaml"
    second.write_text((root / "scenarios" / "mini.yaml").read_text().replace("id: mini\n", "id: mini2\n"))
    args = (
        [str(root / "personas"), str(root / "scenarios"), str(root / "rubrics")]
        if explicit
        else [str(second)]
    )
    rc = main(["validate", *args])
    _, err = capsys.readouterr()
    assert rc == 2
    lines = _error_lines(err)
    assert len(lines) == 1, err
    assert "nor-mfa.yaml:" in lines[0] and "voice: required field is missing" in lines[0]
    assert "not found" not in err


def test_main_registers_commands_once(repo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``main`` called many times in one process (as tests do) must not pile up duplicate commands."""
    from harness.cli import app

    main(["validate", str(MINI / "personas" / "nor-mfa.yaml")])
    count = len(app.registered_commands)
    names = [c.name for c in app.registered_commands]
    assert len(names) == len(set(names)), "a command is registered twice"
    for _ in range(3):
        assert main(["validate", str(MINI / "personas" / "nor-mfa.yaml")]) == 0
    assert len(app.registered_commands) == count
    capsys.readouterr()
