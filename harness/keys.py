"""Transcript keys: the one place they are spelt.

Every event of a transcript has a deterministic key, so a node re-run after a crash finds its turn already
recorded and reuses it; the writer skips a key already present. Nodes, views, the runner, importers and
tests all build keys here, never with their own f-strings.
"""

from __future__ import annotations

MANIFEST = "manifest"
HOTWASH_MOVE = "hotwash"
"""The ``move`` of hot-wash utterances (after the last move)."""


def inject(move: str) -> str:
    return f"{move}/inject"


def caucus(move: str, delegation: str, rnd: int, speaker: str) -> str:
    return f"{move}/caucus/{delegation}/r{rnd}/{speaker}"


def card(move: str, delegation: str) -> str:
    return f"{move}/card/{delegation}"


def card_state(move: str, delegation: str) -> str:
    """The key of a position card in the graph state's ``cards`` (not a transcript key)."""
    return f"{move}/{delegation}"


def report(move: str, delegation: str) -> str:
    return f"{move}/plenary/{delegation}/report"


def question(move: str, delegation: str, rnd: int) -> str:
    return f"{move}/plenary/{delegation}/r{rnd}/question"


def answer(move: str, delegation: str, rnd: int) -> str:
    return f"{move}/plenary/{delegation}/r{rnd}/answer"


def adjudication(move: str) -> str:
    return f"{move}/adjudication"


def narration(move: str) -> str:
    return f"{move}/control/narration"


def hotwash(delegation: str) -> str:
    return f"{HOTWASH_MOVE}/{delegation}"


def error(key: str) -> str:
    """The error recorded about the turn ``key``."""
    return f"{key}/error"


def resume(n: int) -> str:
    return f"resume/{n}"


def run_end(attempt: int) -> str:
    """Numbered per attempt: a later ``run_end`` supersedes an earlier one."""
    return f"run_end/{attempt}"


def backend_error(attempt: int) -> str:
    return f"backend/{attempt}"


def failure(attempt: int) -> str:
    return f"failure/{attempt}"


def imported(move: str, channel: str, delegation: str | None, index: int) -> str:
    """A statement of an imported human record (numbered in file order within its move)."""
    return f"{move}/{channel}/{delegation or 'control'}/{index:03d}"


def gold(statement_id: str) -> str:
    """A gold statement wrapped as an utterance for scoring (``harness validate-scorer``)."""
    return f"gold/{statement_id}"
