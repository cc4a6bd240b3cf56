"""The web room in headless Chromium against ``harness serve`` (a subprocess) and the fake
OpenAI-compatible server: a trainee plays ROK's head from the page across a server kill, the live view
follows a run within a second, and a trainer's note survives a reload and reaches the report."""

from __future__ import annotations

import statistics
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.report import write_report
from harness.schema import ManifestEvent, PositionCardEvent, UtteranceEvent
from harness.testserver import FakeOpenAIServer
from harness.transcript import Run
from tests.report.conftest import ARTIFACTS, PageLog
from tests.web.conftest import CARD

pytestmark = pytest.mark.browser

XSS = "<script>alert('x')</script><img src=x onerror=alert(2)> Seoul must hear Beijing out."
TURNS = ("m1/plenary/ROK/report", "m1/plenary/ROK/r1/question", "m1/plenary/ROK/r1/answer", "hotwash/ROK")
ROWS = """() => Array.from(document.querySelectorAll('#transcript [data-key]'))
    .map((e) => [e.dataset.key, e.dataset.t, Number(e.dataset.shown)])"""


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def _speak(pg: Any, key: str, text: str) -> None:
    form = pg.wait_for_selector(f"form#answer[data-key='{key}']", timeout=30_000)
    assert form is not None
    pg.fill("form#answer textarea[name=text]", text)
    pg.click("form#answer button[type=submit]")  # the page then reloads with the next turn


def _fill_card(pg: Any) -> None:
    for name, value in CARD.items():
        if name.endswith("_level"):
            pg.check(f"form#answer input[name={name}][value='{value}']")
        elif name == "request_to":
            pg.select_option(f"form#answer select[name={name}]", value)
        else:
            pg.fill(f"form#answer [name={name}]", value)


def test_a_trainee_plays_a_seat_across_a_server_kill(
    tmp_path: Path, page: tuple[Any, PageLog], fake_server: FakeOpenAIServer, room_factory: Any
) -> None:
    pg, log = page
    out = tmp_path / "runs"
    room = room_factory(out)
    pg.goto(room.url + "/")
    pg.select_option("#start select[name=scenario]", "smoke")
    pg.select_option("#start select[name=backend]", "compatible")
    pg.fill("#start input[name=base_url]", fake_server.base_url)
    pg.fill("#start input[name=model]", "fake-model")
    pg.select_option("#start select[name=human]", "ROK")
    pg.fill("#start input[name=run_id]", "web")
    pg.click("#start button[type=submit]")
    pg.wait_for_url("**/seat/web")

    # the caucus turn: the seat sees the inject, the questions and its own caucus, not the model's prompt
    pg.wait_for_selector("form#answer[data-key='m1/caucus/ROK/r1/rok-mofa']", timeout=30_000)
    turn = pg.inner_text("#turn")
    assert "What will you tell Beijing about your intentions?" in turn
    assert "Professor Nam Gyu-seong" in turn  # the other ROK member spoke first (AI)
    assert "JSON" not in turn and "Answer with" not in turn
    _speak(pg, "m1/caucus/ROK/r1/rok-mofa", XSS)

    # the position card, built from the scenario's card model and the rubrics
    pg.wait_for_selector("form#answer[data-key='m1/card/ROK']", timeout=30_000)
    assert pg.locator("form#answer fieldset.level").count() == 3
    assert pg.locator("form#answer input[name=neo_level]").count() == 6  # 0-4 and not addressed
    assert "Civilian/commercial means only" in pg.inner_text("form#answer")
    _fill_card(pg)  # filled in, then the trainee leaves and the server is killed before sending
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "web-seat-card.png"), full_page=True)
    pg.goto("about:blank")
    room.kill()
    room.start()  # same port, same folder: the run is found waiting for ROK

    pg.goto(room.url + "/")
    assert pg.locator("#waiting a[href='/seat/web?delegation=ROK']").count() == 1
    pg.click("#waiting a[href='/seat/web?delegation=ROK']")
    pg.wait_for_selector("form#answer[data-key='m1/card/ROK']")  # the same pending turn
    _fill_card(pg)
    pg.click("form#answer button[type=submit]")
    for key in TURNS:
        _speak(pg, key, f"ROK at {key}")
    pg.wait_for_selector("#no-turn:has-text('The exercise is over')", timeout=30_000)

    # the human's words are shown as text, never as markup
    assert pg.locator("#transcript .utt-text", has_text="<script>alert('x')</script>").count() == 1
    assert pg.locator("#transcript img, #turn img").count() == 0
    # the seat never saw another delegation's caucus
    assert pg.locator("#transcript .utt[data-channel=caucus]:not([data-delegation=ROK])").count() == 0
    assert log.dialogs == [] and log.errors == [], (log.dialogs, log.errors)

    run = Run.load(out / "web")
    end = run.run_end()
    assert end is not None and end.status == "completed"
    human = {e.key: e for e in run.events if getattr(e, "author", None) == "human"}
    assert set(human) == {"m1/caucus/ROK/r1/rok-mofa", "m1/card/ROK", *TURNS}
    said = human["m1/caucus/ROK/r1/rok-mofa"]
    assert isinstance(said, UtteranceEvent) and said.text == XSS
    card = human["m1/card/ROK"]
    assert isinstance(card, PositionCardEvent)
    assert {s.axis: s.level for s in card.card.stances} == {
        "neo": 0,
        "china_messaging": 4,
        "territorial": None,
    }
    keys = [e.key for e in run.events]
    assert len(keys) == len(set(keys))


def test_live_view_latency_reload_and_notes(
    tmp_path: Path, page: tuple[Any, PageLog], room_factory: Any
) -> None:
    pg, log = page
    out = tmp_path / "runs"
    room = room_factory(out)
    with FakeOpenAIServer(latency_ms=350, latency_sd_ms=50) as slow:
        body = {
            "scenario": "smoke",
            "backend": "compatible",
            "base_url": slow.base_url,
            "model": "fake-model",
            "run_id": "live",
        }
        started = httpx.post(room.url + "/api/runs", json=body)
        assert started.status_code == 201, started.text
        pg.goto(room.url + "/runs/live")
        pg.wait_for_selector("#transcript .utt", timeout=30_000)
        pg.reload()  # mid-run: everything so far, then what follows
        pg.wait_for_selector("#transcript .utt")
        opened = pg.evaluate("Date.now()")
        pg.wait_for_selector("#state.state-completed", timeout=60_000)
        rows = pg.evaluate(ROWS)

    run = Run.load(out / "live")
    shown = [k for k, _, _ in rows]
    # all of it, once, in order
    assert shown == [e.key for e in run.events if not isinstance(e, ManifestEvent)]
    live = [shown_ms - _ms(t) for _, t, shown_ms in rows if _ms(t) > opened]
    assert len(live) >= 5, rows
    worst, median = max(live), statistics.median(live)
    print(f"live view latency over {len(live)} events: median {median:.0f} ms, worst {worst:.0f} ms")
    assert worst < 1000, live

    # a note on the first utterance: saved, shown as text, still there after a reload, in the report
    first = run.utterances()[0].key
    item = pg.locator(f"#transcript [data-key='{first}']")
    item.locator("button.annotate").click()
    item.locator("form.note-form input[name=tag]").fill("good concession")
    item.locator("form.note-form textarea[name=note]").fill(XSS)
    item.locator("form.note-form input[name=author]").fill("Trainer A")
    item.locator("form.note-form button[type=submit]").click()
    pg.wait_for_selector(f"#transcript [data-key='{first}'] li.note")
    pg.reload()
    note = pg.wait_for_selector(f"#transcript [data-key='{first}'] li.note")
    assert note is not None and XSS in note.inner_text() and "good concession" in note.inner_text()
    assert pg.locator("#transcript li.note img").count() == 0
    assert log.dialogs == [] and log.errors == [], (log.dialogs, log.errors)

    pg.goto(room.url + "/report/live")
    notes = pg.inner_text("#notes")
    assert "good concession" in notes and "Trainer A" in notes and XSS in notes
    assert pg.locator("#transcript article.utt .note:has-text('good concession')").count() == 1
    assert log.dialogs == [] and log.errors == [], (log.dialogs, log.errors)
    html = write_report([out / "live"]).read_text()  # what `harness report` writes
    assert "good concession" in html and XSS not in html
