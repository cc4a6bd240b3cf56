"""Fixtures of the fuzz suite: one work folder per reader, made once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .readers import make_workdir


@pytest.fixture(scope="session")
def workdir_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = make_workdir(tmp_path_factory.mktemp(f"fuzz-{name}"))
        return made[name]

    return get
