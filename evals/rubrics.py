"""Rubric loading for the evaluation module: a folder of ``<axis>.yaml`` files → ``{axis: Rubric}``.

A thin layer over :func:`harness.loaders.load_rubrics` (which names file, field and line on a bad file)
that adds the default folder (the bundled rubrics) and refuses an empty one: a scorer with no axes
would silently score nothing.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import DataError
from harness.loaders import load_rubrics as _load_rubric_files
from harness.resources import bundled
from harness.schema import Rubric


def load_rubrics(folder: str | Path | None = None) -> dict[str, Rubric]:
    """All rubrics in ``folder`` (default: the bundled ones), keyed by axis id, in file-name order."""
    path = Path(folder) if folder is not None else bundled("rubrics")
    rubrics = _load_rubric_files(path)
    if not rubrics:
        raise DataError(str(path), "no rubric files (<axis>.yaml) in this folder")
    return rubrics
