"""``harness.toml``: the one place it is read.

Tables: ``[backend]`` (see :mod:`harness.llm.config`) and ``[data]`` (see :mod:`harness.datapaths`). A
file that is not valid TOML (a duplicated key included) is a one-line :class:`ConfigError` naming it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

TOML_NAME = "harness.toml"


def read_table(path: Path, table: str) -> dict[str, Any]:
    """The ``[table]`` of the TOML file at ``path`` (empty when the file or the table is absent)."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    found = data.get(table, {})
    if not isinstance(found, dict):
        raise ConfigError(f"{path}: [{table}] must be a table")
    return found
