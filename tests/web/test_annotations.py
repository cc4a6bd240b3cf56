"""Trainers' notes: ``annotations.jsonl`` lines, their checks, and their place in ``harness report``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness.annotations import ANNOTATIONS_NAME, Annotation, append_annotation, read_annotations
from harness.errors import ConfigError
from harness.report import build_report
from harness.transcript import Run, read_events
from tests.orchestrator.helpers import SMOKE

XSS = "<script>alert('note')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def smoke_run(tmp_path: Path, scripted_run: Callable[..., tuple[Any, Any]]) -> Run:
    result, _ = scripted_run(SMOKE, tmp_path)
    return Run.load(result.folder)


def test_notes_are_appended_beside_the_transcript(smoke_run: Run) -> None:
    before = smoke_run.path.read_bytes()
    utt = smoke_run.utterances()[0]
    card = smoke_run.cards()[0]
    append_annotation(smoke_run, Annotation(target=utt.key, tag="good concession", note="  n1 ", author="T"))
    append_annotation(smoke_run, Annotation(target=card.key, tag="missed red line", note=XSS, author="T"))
    notes = read_annotations(smoke_run.folder)
    assert [(n.target, n.tag, n.note) for n in notes] == [
        (utt.key, "good concession", "n1"),
        (card.key, "missed red line", XSS),
    ]
    assert all(n.t and n.id for n in notes)
    assert smoke_run.path.read_bytes() == before  # never written into the transcript
    assert len(read_events(smoke_run.path)) == len(smoke_run.events)
    lines = (smoke_run.folder / ANNOTATIONS_NAME).read_text().splitlines()
    assert len(lines) == 2


def test_bad_notes_are_refused(smoke_run: Run) -> None:
    with pytest.raises(ConfigError, match="no utterance or position card"):
        append_annotation(smoke_run, Annotation(target="m1/inject", tag="x", author="T"))
    with pytest.raises(ValidationError):
        Annotation(target="k", tag="", author="T")
    with pytest.raises(ValidationError):
        Annotation(target="k", tag="x" * 61, author="T")
    with pytest.raises(ValidationError):
        Annotation(target="k", tag="x", author="T", extra_field=1)  # type: ignore[call-arg]
    (smoke_run.folder / ANNOTATIONS_NAME).write_text('{"torn": \nnot json\n')
    assert read_annotations(smoke_run.folder) == []


def test_report_shows_notes_escaped_next_to_their_target(smoke_run: Run) -> None:
    utt = smoke_run.utterances()[2]
    card = smoke_run.cards()[1]
    assert "Trainer notes" not in build_report([smoke_run])
    append_annotation(smoke_run, Annotation(target=utt.key, tag="key moment", note=XSS, author="Trainer A"))
    append_annotation(smoke_run, Annotation(target=card.key, tag="missed red line", note="card", author="B"))
    html = build_report([smoke_run])
    assert XSS not in html
    assert "&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;" in html
    assert 'id="notes"' in html and 'href="#notes"' in html
    # the note sits inside the utterance's article, and the card note in the card table
    start = html.index(f'id="u-{utt.key.replace("/", "-")}"')
    article = html[start : html.index("</article>", start)]
    assert "key moment" in article and "Trainer A" in article
    cards = html[html.index('id="cards"') : html.index('id="notes"')]
    assert "Trainer notes" in cards and "missed red line" in cards
