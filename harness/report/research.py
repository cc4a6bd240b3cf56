"""The research results a report shows when its runs' folder holds them (the report's research section).

``harness sensitivity`` adds ``sensitivity`` to a batch's ``summary.json``; ``harness fidelity`` and
``harness harmony`` write ``fidelity.json`` and ``harmony.json`` beside the runs (the batch folder, or the
run folder). Nothing here computes a figure: the section renders what those commands wrote.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILES = {"fidelity": "fidelity.json", "harmony": "harmony.json"}


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("%s: unreadable, left out of the report", path)
        return None
    return data if isinstance(data, dict) else None


def research_of(folder: Path) -> dict[str, Any] | None:
    """``{sensitivity, fidelity, harmony}`` found in ``folder`` (each may be ``None``); ``None`` if none."""
    summary = _read(folder / "summary.json") or {}
    found: dict[str, Any] = {"sensitivity": summary.get("sensitivity")}
    for key, name in FILES.items():
        found[key] = _read(folder / name)
    return found if any(found.values()) else None


def fmt_num(x: float | None, signed: bool = False, digits: int = 2) -> str:
    if x is None:
        return "—"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
