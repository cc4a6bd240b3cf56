"""The report of a default-scenario run (scripted fake model) in headless Chromium: it loads without
console errors, the delegation and caucus/plenary views work, evidence links land on their utterance,
and a full-page screenshot is saved to ``tests/artifacts/report.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.report import write_report
from harness.transcript import Run
from tests.report.conftest import ARTIFACTS, PageLog

pytestmark = pytest.mark.browser

VISIBLE_UTTERANCES = """(sel) => Array.from(document.querySelectorAll(sel))
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => [el.dataset.delegation, el.dataset.channel, el.dataset.to])"""


def _open(page: tuple[Any, PageLog], run: Run) -> tuple[Any, PageLog]:
    pg, log = page
    pg.goto(write_report([run.folder]).as_uri())
    pg.wait_for_load_state("load")
    return pg, log


def test_report_loads_and_screenshot(scored_run: Run, page: tuple[Any, PageLog]) -> None:
    pg, log = _open(page, scored_run)
    assert log.errors == [], log.errors
    assert log.dialogs == []
    assert all(url.startswith("file:") for url in log.requests), log.requests
    assert pg.locator("#transcript .utt").count() == len(scored_run.utterances())
    assert pg.locator("#divergence svg.plot").count() > 0
    assert pg.locator("#divergence .hm-cell").first.is_visible()
    assert pg.locator("#transcript .utt").first.is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    pg.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_delegation_and_channel_switches(scored_run: Run, page: tuple[Any, PageLog]) -> None:
    pg, log = _open(page, scored_run)
    everything = pg.evaluate(VISIBLE_UTTERANCES, "#transcript .utt")
    assert len(everything) == len(scored_run.utterances())
    target = scored_run.delegations()[1]

    pg.locator(f"#delegation-switch button[data-value='{target}']").click()
    caucus = pg.evaluate(VISIBLE_UTTERANCES, "#transcript .utt[data-channel='caucus']")
    expected = [u for u in scored_run.utterances() if u.channel == "caucus" and u.delegation == target]
    assert caucus and len(caucus) == len(expected)
    assert {d for d, _, _ in caucus} == {target}
    plenary = pg.evaluate(VISIBLE_UTTERANCES, "#transcript .utt[data-channel='plenary']")
    assert plenary and all(target in (d, to) for d, _, to in plenary)
    assert (
        pg.locator(f"#delegation-switch button[data-value='{target}']").get_attribute("aria-pressed")
        == "true"
    )
    other = scored_run.delegations()[0]
    assert not pg.locator(f"#transcript .caucus-group[data-delegation='{other}']").first.is_visible()

    pg.locator("#channel-switch button[data-value='plenary']").click()
    shown = pg.evaluate(VISIBLE_UTTERANCES, "#transcript .utt")
    assert shown and {ch for _, ch, _ in shown} == {"plenary"}

    pg.locator("#channel-switch button[data-value='caucus']").click()
    shown = pg.evaluate(VISIBLE_UTTERANCES, "#transcript .utt")
    assert {(d, ch) for d, ch, _ in shown} == {(target, "caucus")}

    pg.locator("#delegation-switch button[data-value='']").click()
    pg.locator("#channel-switch button[data-value='']").click()
    assert len(pg.evaluate(VISIBLE_UTTERANCES, "#transcript .utt")) == len(scored_run.utterances())
    assert log.errors == []


def test_evidence_link_reveals_the_cited_utterance(scored_run: Run, page: tuple[Any, PageLog]) -> None:
    pg, log = _open(page, scored_run)
    link = pg.locator("#summary a[href^='#u-']").first
    href = link.get_attribute("href")
    assert href
    cited = pg.locator(href)
    owner = cited.get_attribute("data-delegation")
    hider = next(d for d in scored_run.delegations() if d != owner)
    pg.locator(f"#delegation-switch button[data-value='{hider}']").click()
    assert not cited.is_visible()
    link.click()
    assert cited.is_visible()
    assert pg.evaluate("location.hash") == href
    assert pg.locator(href + ":target").count() == 1
    assert log.errors == []


def test_print_layout_shows_everything(scored_run: Run, page: tuple[Any, PageLog], tmp_path: Path) -> None:
    pg, _ = _open(page, scored_run)
    pg.locator(f"#delegation-switch button[data-value='{scored_run.delegations()[0]}']").click()
    pg.emulate_media(media="print")
    assert not pg.locator(".toolbar").first.is_visible()
    assert len(pg.evaluate(VISIBLE_UTTERANCES, "#transcript .utt")) == len(scored_run.utterances())
    pdf = tmp_path / "report.pdf"
    pg.pdf(path=str(pdf))
    assert pdf.stat().st_size > 10_000
