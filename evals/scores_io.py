"""``AxisScore`` lines on disk: ``<run folder>/scores/<scorer>.jsonl`` (docs/contract.md).

Writing replaces the file atomically (a re-score never leaves half a file); reading names the file and
line of the first bad row as a :class:`~harness.errors.DataError`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from harness.errors import DataError
from harness.jsonl import JsonLineError, loads_line
from harness.schema import AxisScore
from harness.transcript import TRANSCRIPT_NAME

M = TypeVar("M", bound=BaseModel)
SCORES_DIR = "scores"
NOTES_SUFFIX = ".notes.jsonl"
PANEL_SUFFIX = ".panel.json"
"""Beside ``<scorer>.jsonl``: a judge panel's agreement between its members (``harness score``)."""


def scores_path(run_folder: str | Path, scorer: str) -> Path:
    return Path(run_folder) / SCORES_DIR / f"{scorer}.jsonl"


def write_jsonl(path: str | Path, rows: Iterable[BaseModel]) -> Path:
    """Write one JSON object per line, replacing ``path`` atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(row.model_dump_json() + "\n")
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_scores(path: str | Path, scores: Iterable[AxisScore]) -> Path:
    return write_jsonl(path, scores)


def read_jsonl(path: str | Path, model: type[M], what: str) -> list[M]:
    """One ``model`` per non-blank line; a bad line is a DataError naming file, line and field."""
    return [row for _, row in read_jsonl_lines(path, model, what)]


def read_jsonl_lines(path: str | Path, model: type[M], what: str) -> list[tuple[int, M]]:
    """Like :func:`read_jsonl`, each row with its line number."""
    p = Path(path)
    try:
        # bytes: str.splitlines() would also split at U+2028 and the like, which JSON strings may hold
        lines = p.read_bytes().splitlines()
    except FileNotFoundError as exc:
        raise DataError(str(p), f"no such {what} file") from exc
    except IsADirectoryError as exc:
        raise DataError(str(p), f"is a folder, expected a {what} file") from exc
    except OSError as exc:
        raise DataError(str(p), f"cannot read ({exc.strerror})") from exc
    out: list[tuple[int, M]] = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append((i, model.model_validate(loads_line(line))))
        except JsonLineError as exc:
            raise DataError(str(p), exc.cause, line=i) from exc
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"]) or None
            raise DataError(str(p), f"not a valid {what} row ({err['msg']})", field=field, line=i) from exc
    return out


def read_scores(path: str | Path) -> list[AxisScore]:
    """The scores of one file; a unit (run, move, delegation, axis) scored twice by one scorer and model
    is refused naming both lines (the metrics would not know which to take)."""
    first: dict[tuple[str, str, str, str, str, str | None], int] = {}
    out: list[AxisScore] = []
    for line, s in read_jsonl_lines(path, AxisScore, "scores"):
        key = (s.run_id, s.move, s.delegation, s.axis, s.scorer, s.model)
        if key in first:
            raise DataError(
                str(path),
                f"{s.run_id} {s.move} {s.delegation} {s.axis} scored twice by {s.scorer} "
                f"(first at line {first[key]})",
                line=line,
            )
        first[key] = line
        out.append(s)
    return out


def find_score_files(inputs: Sequence[str | Path], scorer: str | None = None) -> list[Path]:
    """Score files from paths that are score files, run folders or transcripts.

    A run folder contributes ``scores/<scorer>.jsonl``; without ``scorer`` it must hold exactly one
    scores file (mixing scorers in one summary would compare unlike things).
    """
    files: list[Path] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_file() and p.name == TRANSCRIPT_NAME:
            p = p.parent
        if p.is_file():
            files.append(p)
            continue
        if not p.is_dir():
            raise DataError(str(p), "not a scores file or a run folder")
        if scorer is not None:
            f = scores_path(p, scorer)
            if not f.is_file():
                raise DataError(str(f), f"no {scorer} scores here: run `harness score {p} --scorer {scorer}`")
            files.append(f)
            continue
        found = sorted(f for f in (p / SCORES_DIR).glob("*.jsonl") if not f.name.endswith(NOTES_SUFFIX))
        if not found:
            raise DataError(str(p), "no scores/<scorer>.jsonl in this run folder: run `harness score` first")
        if len(found) > 1:
            names = ", ".join(f.stem for f in found)
            raise DataError(str(p), f"several scorers' files ({names}): choose one with --scorer")
        files.append(found[0])
    return files


def scores_beside(inputs: Sequence[str | Path], scorer: str) -> list[Path]:
    """``scores/<scorer>.jsonl`` of each run folder (or transcript's folder) among ``inputs`` that has one."""
    found: list[Path] = []
    for raw in inputs:
        p = Path(raw)
        folder = p.parent if p.is_file() and p.name == TRANSCRIPT_NAME else p
        f = scores_path(folder, scorer)
        if folder.is_dir() and f.is_file() and f not in found:
            found.append(f)
    return found
