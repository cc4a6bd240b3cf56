"""One JSON value per line, read with limits (transcripts, score files, gold files).

``json.loads`` on a hostile line can raise ``RecursionError`` (a few thousand nested brackets) and a
deeply nested value that does load can still exhaust the stack further on (validation, rendering).
:func:`loads_line` refuses, before parsing, a line longer than :data:`MAX_LINE_BYTES` or nested deeper
than :data:`MAX_DEPTH`, and turns every failure into a :class:`JsonLineError` with a one-line cause.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_LINE_BYTES = 16 * 1024 * 1024
"""Longest line accepted: far above any event the harness writes (an imported statement is capped at
1,000,000 characters, see :mod:`evals.importers`, which JSON escaping can at most multiply by six)."""
MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; the harness's own events nest about 5 levels."""

# a JSON string (running to the end of the line when unterminated, so every scan is linear) or a bracket
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


class JsonLineError(ValueError):
    """A line that is not acceptable JSON. ``limit`` is true for the size and depth limits: such a line
    is never a torn write, so readers that forgive a torn last line still refuse it."""

    def __init__(self, cause: str, *, limit: bool = False) -> None:
        self.cause = cause
        self.limit = limit
        super().__init__(cause)


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels deep in ``raw`` (brackets inside
    strings do not count). A line with few brackets is answered without a scan."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKEN.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def loads_line(raw: bytes | str) -> Any:
    """Parse one line of JSON within the limits; :class:`JsonLineError` on any failure."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > MAX_LINE_BYTES:
        raise JsonLineError(
            f"line is {len(data):,} bytes long, over the limit of {MAX_LINE_BYTES:,}", limit=True
        )
    if too_deep(data):
        raise JsonLineError(f"JSON nested more than {MAX_DEPTH} levels deep", limit=True)
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise JsonLineError(f"not JSON ({exc.msg} at column {exc.colno})") from exc
    except UnicodeDecodeError as exc:
        raise JsonLineError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except RecursionError as exc:  # not reached below MAX_DEPTH; kept so no stack error ever escapes
        raise JsonLineError(f"JSON nested too deeply ({exc})", limit=True) from exc
    except ValueError as exc:  # e.g. an integer too long to convert
        raise JsonLineError(f"not JSON ({' '.join(str(exc).split())})") from exc
