"""``harness.toml``: the one place it is read.

Tables: ``[backend]`` (see :mod:`harness.llm.config`) and ``[data]`` (see :mod:`harness.datapaths`). A
file that is not valid TOML (a duplicated key included) is a one-line :class:`ConfigError` naming it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

TOML_NAME = "harness.toml"


TABLES = ("backend", "data")


def read_toml(path: Path) -> dict[str, Any]:
    """The whole file (empty when absent); a syntax error, a key given twice or a key outside any table is
    one line naming the file and line."""
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text ({exc.reason})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, text, exc) from None
    stray = next((k for k, v in data.items() if not isinstance(v, dict)), None)
    if stray is not None:  # e.g. `model = …` above the [backend] header: it would be silently ignored
        lines = text.splitlines()
        before = lines[: next((i for i, ln in enumerate(lines) if ln.strip().startswith("[")), len(lines))]
        line = _first_definition(before, stray, table=False)
        where = f"{path}:{line}" if line else str(path)
        tables = " or ".join(f"[{t}]" for t in TABLES)
        raise ConfigError(f"{where}: key {stray!r} is outside any table: put it under {tables}")
    return data


def read_table(path: Path, table: str) -> dict[str, Any]:
    """The ``[table]`` of the TOML file at ``path`` (empty when the file or the table is absent)."""
    found = read_toml(path).get(table, {})
    if not isinstance(found, dict):
        raise ConfigError(f"{path}: [{table}] must be a table")
    return found


_TOML_AT = re.compile(r"\s*\(at (?:line (?P<line>\d+), column \d+|end of document)\)$")


def _toml_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    """One line ``file:line: cause``; a key or table given twice names the line of its first definition."""
    message = str(exc)
    at = _TOML_AT.search(message)
    cause = message[: at.start()] if at else message
    line: int | None = None
    if at:
        line = int(at["line"]) if at["line"] else max(1, len(text.splitlines()))
    lines = text.splitlines()
    if line is not None and cause.startswith(("Cannot overwrite a value", "Cannot declare")):
        this = lines[line - 1].strip() if line <= len(lines) else ""
        is_table = this.startswith("[")
        name = this if is_table else this.split("=", 1)[0].strip().strip("\"'")
        first = _first_definition(lines[: line - 1], name, table=is_table)
        what = f"table {name}" if is_table else f"key {name!r}"
        cause = f"{what} given twice (first at line {first})" if first else f"{what}: {cause.lower()}"
    where = f"{path}:{line}" if line is not None else str(path)
    return ConfigError(f"{where}: not valid TOML: {cause}")


def _first_definition(before: list[str], name: str, *, table: bool) -> int | None:
    """The line (1-based) among ``before`` that first defines the table header or key ``name``.

    A key is looked for only within the table it was given in (after the last header).
    """
    start = 0
    if not table:
        headers = [i for i, ln in enumerate(before) if ln.strip().startswith("[")]
        start = headers[-1] + 1 if headers else 0
    for i in range(start, len(before)):
        stripped = before[i].strip()
        if table and stripped == name:
            return i + 1
        if not table and "=" in stripped and stripped.split("=", 1)[0].strip().strip("\"'") == name:
            return i + 1
    return None
