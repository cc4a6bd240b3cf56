"""The project's own error types.

Every error a user can cause (bad data, bad configuration, an unreachable backend) is a
:class:`HarnessError` with a one-line message; the CLI prints it and exits non-zero, never a traceback.
"""

from __future__ import annotations


def one_line(text: str) -> str:
    """``text`` on one printable line: whitespace runs become one space, control characters escapes
    (a value quoted from a hostile file must not break the line or drive the terminal)."""
    text = " ".join(text.split())
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class HarnessError(Exception):
    """Base class: ``str(err)`` is a complete one-line message for the user."""

    exit_code: int = 1


class DataError(HarnessError):
    """A data file (scenario, persona, rubric, transcript, scores) is malformed or inconsistent."""

    exit_code = 2

    def __init__(self, path: str, cause: str, *, field: str | None = None, line: int | None = None) -> None:
        cause = one_line(cause)
        field = one_line(field) if field else field
        self.path = path
        self.field = field
        self.line = line
        self.cause = cause
        where = path
        if line is not None:
            where += f":{line}"
        if field:
            where += f": {field}"
        super().__init__(f"{where}: {cause}")


class ConfigError(HarnessError):
    """Bad flags, environment or harness.toml."""

    exit_code = 2


class TemplateError(HarnessError):
    """A prompt template is missing or uses an undefined variable."""

    exit_code = 2
