"""The transcript's events grouped the way the prompts read them, kept up to date as events are written.

Every prompt quotes a few slices of the transcript (a delegation's caucus in a move, the plenary, the
adjudications of earlier moves: :mod:`harness.views`). Scanning every event for each prompt made a
prompt's cost grow with the run; :func:`index_of` gives the writer's index instead, which reads only the
events written since its last query (:meth:`~harness.transcript.TranscriptWriter.events_from`) and
appends each to its group, so a query costs the size of its answer. Each group keeps transcript order.
"""

from __future__ import annotations

import threading
import weakref

from harness.schema import AdjudicationEvent, EventBase, UtteranceEvent
from harness.transcript import TranscriptWriter


class EventIndex:
    """Caucus utterances by (move, delegation), plenary utterances outside the hot-wash, adjudications."""

    def __init__(self, writer: TranscriptWriter) -> None:
        self._writer = weakref.ref(writer)  # the registry below is keyed weakly by the writer
        self._lock = threading.Lock()
        self._seen = 0
        self._caucus: dict[tuple[str, str | None], list[UtteranceEvent]] = {}
        self._plenary: list[UtteranceEvent] = []
        self._adjudications: list[AdjudicationEvent] = []

    def _add(self, event: EventBase) -> None:
        if isinstance(event, UtteranceEvent):
            if event.channel == "caucus":
                self._caucus.setdefault((event.move, event.delegation), []).append(event)
            elif event.channel == "plenary" and event.phase != "hotwash":
                self._plenary.append(event)
        elif isinstance(event, AdjudicationEvent):
            self._adjudications.append(event)

    def _sync(self) -> None:
        writer = self._writer()
        new = writer.events_from(self._seen) if writer is not None else []
        self._seen += len(new)
        for event in new:
            self._add(event)

    def caucus(self, move: str, delegation: str) -> list[UtteranceEvent]:
        """The caucus utterances of ``delegation`` in ``move``."""
        with self._lock:
            self._sync()
            return list(self._caucus.get((move, delegation), ()))

    def plenary(self) -> list[UtteranceEvent]:
        """Every plenary utterance but the hot-wash's, all moves."""
        with self._lock:
            self._sync()
            return list(self._plenary)

    def adjudications(self) -> list[AdjudicationEvent]:
        with self._lock:
            self._sync()
            return list(self._adjudications)


_INDEXES: weakref.WeakKeyDictionary[TranscriptWriter, EventIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def index_of(writer: TranscriptWriter) -> EventIndex:
    """The index of ``writer``'s events (one per writer, made on first use, gone with the writer)."""
    with _INDEXES_LOCK:
        index = _INDEXES.get(writer)
        if index is None:
            index = _INDEXES[writer] = EventIndex(writer)
        return index
