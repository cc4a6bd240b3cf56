"""Rubric loading for the evaluation module: ``evals/rubrics/<axis>.yaml`` → ``{axis: Rubric}``.

A thin layer over :func:`harness.loaders.load_rubrics` (which names file, field and line on a bad file)
that adds the default folder and refuses an empty one: a scorer with no axes would silently score nothing.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import DataError
from harness.loaders import load_rubrics as _load_rubric_files
from harness.schema import Rubric

DEFAULT_RUBRICS_DIR = Path(__file__).resolve().parent / "rubrics"


def load_rubrics(folder: str | Path | None = None) -> dict[str, Rubric]:
    """All rubrics in ``folder`` (default ``evals/rubrics``), keyed by axis id, in file-name order."""
    path = Path(folder) if folder is not None else DEFAULT_RUBRICS_DIR
    rubrics = _load_rubric_files(path)
    if not rubrics:
        raise DataError(str(path), "no rubric files (<axis>.yaml) in this folder")
    return rubrics
