"""The runs the web room can show: run folders under ``--out`` and under its ``samples/`` sub-folder.

A run is addressed by its *ref*, the folder's path relative to ``--out`` (``<run id>`` or
``samples/<run id>``); nothing outside those two levels can be named. Transcripts are read back with
:class:`~harness.transcript.Run` and cached while the file is unchanged.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from evals.scores_io import NOTES_SUFFIX
from harness.annotations import read_annotations
from harness.errors import HarnessError
from harness.schema import ResumeEvent, RunEndEvent
from harness.transcript import TRANSCRIPT_NAME, Run

log = logging.getLogger(__name__)

SAMPLES = "samples"
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}"
REF = re.compile(rf"^(?:{SAMPLES}/)?{_NAME}$")


class UnknownRun(LookupError):
    """No run folder for this ref."""


def run_status(run: Run) -> str:
    """``completed`` | ``failed`` | ``interrupted`` from the latest ``run_end``; ``unfinished`` when the
    transcript has none, or a ``resume`` came after it."""
    status = "unfinished"
    for e in run.events:
        if isinstance(e, RunEndEvent):
            status = e.status
        elif isinstance(e, ResumeEvent):
            status = "unfinished"
    return status


@dataclass
class RunInfo:
    """One row of the runs list (the live state is filled in by the run manager)."""

    ref: str
    run_id: str
    scenario: str
    model: str
    status: str
    moves: int
    scores: list[str]
    human_seats: list[str]
    created: str
    notes: int
    sample: bool
    waiting: list[str] = field(default_factory=list)
    """Delegations whose seat has a turn waiting for a person."""


class Registry:
    def __init__(self, out: Path) -> None:
        self.out = out.resolve()
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[tuple[int, int], Run]] = {}

    def folder(self, ref: str) -> Path:
        """The run folder ``ref`` names (it may not hold a transcript yet)."""
        if not REF.match(ref) or ".." in ref:
            raise UnknownRun(ref)
        return self.out / ref

    def exists(self, ref: str) -> bool:
        try:
            return (self.folder(ref) / TRANSCRIPT_NAME).is_file()
        except UnknownRun:
            return False

    def load(self, ref: str) -> Run:
        """The run ``ref`` read back (cached while its transcript's size and mtime are unchanged)."""
        path = self.folder(ref) / TRANSCRIPT_NAME
        try:
            st = path.stat()
        except OSError as exc:
            raise UnknownRun(ref) from exc
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._cache.get(path)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        run = Run.load(path)
        with self._lock:
            self._cache[path] = (stamp, run)
        return run

    def refs(self) -> list[str]:
        """Every run folder with a transcript, newest first; samples after the others."""
        out: list[str] = []
        for base, prefix in ((self.out, ""), (self.out / SAMPLES, f"{SAMPLES}/")):
            if not base.is_dir():
                continue
            names = [p.name for p in base.iterdir() if (p / TRANSCRIPT_NAME).is_file()]
            out += [prefix + n for n in sorted(names, reverse=True) if REF.match(prefix + n)]
        return out

    def info(self, ref: str) -> RunInfo | None:
        """The list row for ``ref``; ``None`` (logged) when its transcript cannot be read."""
        try:
            run = self.load(ref)
        except (HarnessError, UnknownRun) as exc:
            log.warning("run %s not listed: %s", ref, exc)
            return None
        m = run.manifest
        scores = self.folder(ref) / "scores"
        return RunInfo(
            ref=ref,
            run_id=m.run_id,
            scenario=m.scenario.id,
            model=f"{m.backend.profile} · {m.backend.model}" if m.backend.model else m.backend.profile,
            status=run_status(run),
            moves=len(run.moves()),
            scores=sorted(p.stem for p in scores.glob("*.jsonl") if not p.name.endswith(NOTES_SUFFIX)),
            human_seats=list(m.human_seats),
            created=m.created,
            notes=len(read_annotations(run.folder)),
            sample=ref.startswith(f"{SAMPLES}/"),
        )
