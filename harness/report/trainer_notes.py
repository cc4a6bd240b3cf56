"""Trainers' notes (``annotations.jsonl``) placed in the report: under the utterance or card they mark, and
listed in a section of their own with links."""

from __future__ import annotations

from collections import defaultdict

from harness.annotations import Annotation, read_annotations
from harness.report.transcript_view import NoteView, RunView
from harness.transcript import Run


def attach_notes(view: RunView, run: Run) -> None:
    notes = read_annotations(run.folder)
    if not notes:
        return
    by_target: dict[str, list[Annotation]] = defaultdict(list)
    for n in notes:
        by_target[n.target].append(n)
    key_of = {u.utterance_id: u.key for u in run.utterances()}
    places: dict[str, tuple[str, str]] = {}
    for u in view.utterances():
        key = key_of.get(u.utterance_id, u.utterance_id)
        u.notes = by_target.get(key, [])
        places[key] = (f"#{u.anchor}", f"{u.speaker} · {u.phase} · {u.delegation or 'Control'}")
    for mv in view.moves:
        for col in mv.cards.columns:
            col.notes = by_target.get(col.key, [])
            places[col.key] = (f"#cards-{mv.anchor}", f"position card · {col.name} · {mv.move}")
    for n in notes:
        href, label = places.get(n.target, ("", n.target))
        view.notes.append(NoteView(href, label, n))
