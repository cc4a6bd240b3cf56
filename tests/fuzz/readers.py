"""Every reader a user can point at a file, with its real seed files and CLI commands.

Each reader works in a folder of its own laid out like the repository (``scenarios/``, ``personas/``,
``evals/rubrics/``, ``experiments/``, a run folder ``run/``), so a damaged file that is still valid
resolves its references and the success path is exercised too.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

from evals.importers import import_record
from evals.reliability import read_gold
from evals.scorers.rules import load_codebook
from evals.scores_io import read_scores
from harness.batch.spec import load_experiment
from harness.llm.config import resolve_backend
from harness.loaders import load_bundle, load_persona, load_rubric
from harness.transcript import Run

from . import strategies as S
from .property import Argv, Reader

REPO = Path(__file__).resolve().parents[2]
SEEDS = Path(__file__).resolve().parent / "seeds"
SAMPLE_RUN = next((REPO / "transcripts" / "samples").glob("*/transcript.jsonl")).parent


def _read(*paths: Path) -> tuple[bytes, ...]:
    return tuple(p.read_bytes() for p in paths)


def make_workdir(root: Path) -> Path:
    """A small copy of the repository's data for one reader's examples."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("scenarios", "personas", "experiments"):
        shutil.copytree(REPO / name, root / name)
    shutil.copytree(REPO / "evals" / "rubrics", root / "evals" / "rubrics")
    shutil.copy(REPO / "evals" / "codebook.yaml", root / "codebook.yaml")
    (root / "run" / "scores").mkdir(parents=True)
    shutil.copy(SAMPLE_RUN / "transcript.jsonl", root / "run" / "transcript.jsonl")
    (root / "small").mkdir()
    shutil.copy(SEEDS / "transcript.jsonl", root / "small" / "transcript.jsonl")
    return root


def _named_by(field: str, fallback: str) -> Callable[[Path, bytes], Path]:
    """Place a file under ``folder`` named after its own ``field:`` value (ids must match file names)."""
    pattern = re.compile(rb"^" + field.encode() + rb":\s*([A-Za-z0-9_-]{1,40})\s*$", re.MULTILINE)

    def place(folder: Path, data: bytes) -> Path:
        m = pattern.search(data)
        name = m.group(1).decode() if m else fallback
        return folder / f"{name}.yaml"

    return place


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def _import(path: Path, wd: Path) -> object:
    return import_record(path, _fresh(wd / "lib-runs"), run_id="r")


def _cli_import(path: Path, wd: Path) -> list[str]:
    return ["import", str(path), "--out", str(_fresh(wd / "cli-runs")), "--run-id", "r", "--anonymise"]


def _yaml(seeds: tuple[bytes, ...]) -> st.SearchStrategy[bytes]:
    return st.one_of(S.mutated(seeds), S.yaml_edited(seeds))


def _jsonl(seeds: tuple[bytes, ...]) -> st.SearchStrategy[bytes]:
    return st.one_of(S.mutated(seeds), S.jsonl_edited(seeds))


def _validate(path: Path, wd: Path) -> list[str]:
    return ["validate", str(path)]


SCENARIO_SEEDS = _read(*sorted((REPO / "scenarios").glob("*.yaml")))
PERSONA_SEEDS = _read(*sorted((REPO / "personas").glob("*.yaml")))
RUBRIC_SEEDS = _read(*sorted((REPO / "evals" / "rubrics").glob("*.yaml")))
TRANSCRIPT_SEEDS = _read(SAMPLE_RUN / "transcript.jsonl", SEEDS / "transcript.jsonl")
SCORE_SEEDS = _read(*sorted((SAMPLE_RUN / "scores").glob("*.jsonl")), SEEDS / "rules.jsonl")

_RUN_COMMANDS: tuple[Argv, ...] = (
    lambda p, wd: ["show", str(p)],
    lambda p, wd: ["score", str(p), "--scorer", "rules", "-o", str(wd / "scored.jsonl")],
    lambda p, wd: ["score", str(p), "--scorer", "stated", "-o", str(wd / "scored.jsonl")],
    lambda p, wd: ["report", str(p), "-o", str(wd / "report.html")],
)

READERS: tuple[Reader, ...] = (
    Reader(
        "scenario",
        place=lambda wd, data: wd / "scenarios" / "fuzz.yaml",
        load=lambda p, wd: load_bundle(p),
        damaged=_yaml(SCENARIO_SEEDS),
        scratch=S.yaml_scratch,
        commands=(_validate,),
        names_file=False,  # a reference problem may name the persona or rubric file it read
    ),
    Reader(
        "persona",
        place=lambda wd, data: _named_by("id", "fuzz")(wd / "personas", data),
        load=lambda p, wd: load_persona(p),
        damaged=_yaml(PERSONA_SEEDS),
        scratch=S.yaml_scratch,
        commands=(_validate,),
    ),
    Reader(
        "rubric",
        place=lambda wd, data: _named_by("axis", "fuzz")(wd / "evals" / "rubrics", data),
        load=lambda p, wd: load_rubric(p),
        damaged=_yaml(RUBRIC_SEEDS),
        scratch=S.yaml_scratch,
        commands=(_validate,),
    ),
    Reader(
        "codebook",
        place=lambda wd, data: wd / "codebook.yaml",
        load=lambda p, wd: load_codebook(p),
        damaged=_yaml(_read(REPO / "evals" / "codebook.yaml")),
        scratch=S.yaml_scratch,
        commands=(
            lambda p, wd: [
                "score",
                str(wd / "small"),
                "--scorer",
                "rules",
                "--codebook",
                str(p),
                "-o",
                str(wd / "s.jsonl"),
            ],
        ),
    ),
    Reader(
        "experiment",
        place=lambda wd, data: wd / "experiments" / "fuzz.yaml",
        load=lambda p, wd: load_experiment(p),
        damaged=_yaml(_read(REPO / "experiments" / "example.yaml")),
        scratch=S.yaml_scratch,
        commands=(lambda p, wd: ["batch", str(p), "--dry-run", "--out", str(_fresh(wd / "batch"))],),
    ),
    Reader(
        "import-md",
        place=lambda wd, data: wd / "record.md",
        load=_import,
        damaged=S.mutated(_read(SEEDS / "record.md")),
        scratch=S.md_scratch,
        commands=(_cli_import,),
    ),
    Reader(
        "import-txt",
        place=lambda wd, data: wd / "record.txt",
        load=_import,
        damaged=S.mutated(_read(SEEDS / "record.md")),
        scratch=S.md_scratch,
        commands=(_cli_import,),
    ),
    Reader(
        "import-csv",
        place=lambda wd, data: wd / "record.csv",
        load=_import,
        damaged=S.mutated(_read(SEEDS / "record.csv")),
        scratch=S.csv_scratch(),
        commands=(_cli_import,),
    ),
    Reader(
        "transcript",
        place=lambda wd, data: wd / "run" / "transcript.jsonl",
        load=lambda p, wd: Run.load(p),
        damaged=_jsonl(TRANSCRIPT_SEEDS),
        scratch=S.jsonl_scratch,
        commands=_RUN_COMMANDS,
    ),
    Reader(
        "scores",
        place=lambda wd, data: wd / "run" / "scores" / "rules.jsonl",
        load=lambda p, wd: read_scores(p),
        damaged=_jsonl(SCORE_SEEDS),
        scratch=S.jsonl_scratch,
        commands=(
            lambda p, wd: ["divergence", str(p), "--n-boot", "5"],
            lambda p, wd: ["report", str(p.parent.parent), "-o", str(wd / "report.html")],
        ),
    ),
    Reader(
        "gold",
        place=lambda wd, data: wd / "gold.jsonl",
        load=lambda p, wd: read_gold(p),
        damaged=_jsonl(_read(SEEDS / "gold.jsonl")),
        scratch=S.jsonl_scratch,
        commands=(lambda p, wd: ["validate-scorer", "--gold", str(p), "--scorer", "rules", "--json"],),
    ),
    Reader(
        "harness.toml",
        place=lambda wd, data: wd / "harness.toml",
        load=lambda p, wd: resolve_backend(env={}, toml_path=p),
        damaged=S.mutated(_read(SEEDS / "harness.toml")),
        scratch=S.toml_scratch,
        names_file=False,  # a complete file may still lack what the profile needs ("needs a model name")
    ),
)
