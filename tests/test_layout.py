"""The repository's layering: scoring and metrics never need the orchestrator, the core never needs the
evaluation module, nothing points outside the repository, and a broken command module is loud."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import harness.cli as cli

ROOT = Path(__file__).resolve().parent.parent
UPPER = (
    "harness.cli",
    "harness.batch",
    "harness.report",
    "harness.research",
    "harness.web",
    "harness.validate",
)
ORCHESTRATOR = (
    "langgraph",
    "harness.runner",
    "harness.graph",
    "harness.nodes",
    "harness.context",
    "harness.views",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_evals_never_imports_the_orchestrator_or_the_upper_layers() -> None:
    for path in sorted((ROOT / "evals").rglob("*.py")):
        for name in _imports(path):
            assert not name.startswith(ORCHESTRATOR + UPPER), f"{_module(path)} imports {name}"


def test_the_core_of_harness_never_imports_evals() -> None:
    for path in sorted((ROOT / "harness").rglob("*.py")):
        module = _module(path)
        if module.startswith(UPPER):
            continue
        for name in _imports(path):
            assert not name.startswith("evals"), f"{module} (core) imports {name}"


def test_scoring_and_metrics_load_without_the_orchestrator() -> None:
    code = (
        "import sys, evals.metrics, evals.reliability, evals.importers, evals.scores_io\n"
        "from evals.scorers import build_scorer\n"
        "build_scorer('rules'); build_scorer('stated')\n"
        f"print(sorted(m for m in sys.modules if m.startswith({ORCHESTRATOR + UPPER!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_nothing_points_outside_the_repository() -> None:
    out = subprocess.run(
        ["git", "grep", "-n", "../" + "shared"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert out.returncode == 1 and not out.stdout, out.stdout  # exit 1: no match


def test_a_command_module_that_fails_to_import_is_loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_registered", False)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("data_cmds", "no_such_cmds"))
    # registration appends to the shared app: give it a copy, restored afterwards
    monkeypatch.setattr(cli.app, "registered_commands", list(cli.app.registered_commands))
    with pytest.raises(ModuleNotFoundError, match="no_such_cmds"):
        cli.main(["--help"])


CLI_LIBRARIES = {"typer", "click", "rich", "shellingham", "annotated_doc"}
CLI_MODULES = ("harness.cli", "harness.errors", "harness.llm.profiles", "evals.scorers")


def test_registering_the_commands_imports_only_the_cli_s_own_libraries() -> None:
    """``harness --help`` and the parsing before any command stay fast: the command modules import what
    their commands need inside the commands (docs/style.md), so registering them loads typer and rich."""
    code = (
        "import sys\n"
        "from harness.cli import _register_all\n"
        "_register_all()\n"
        "print(sorted(m for m in sys.modules if not m.startswith('_')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = ast.literal_eval(out.stdout.strip())
    third = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names) - {"harness", "evals"}
    assert third <= CLI_LIBRARIES, sorted(third - CLI_LIBRARIES)
    ours = [m for m in loaded if m.startswith(("harness.", "evals.")) and m != "harness.llm"]
    assert all(m.startswith(CLI_MODULES) for m in ours), [m for m in ours if not m.startswith(CLI_MODULES)]
