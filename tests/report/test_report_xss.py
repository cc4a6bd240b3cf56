"""Hostile text in a transcript or a score file renders as text: on the HTML string and in Chromium.

The page also carries a Content-Security-Policy that would block an injected script; the browser test
therefore runs twice, once as shipped and once with the policy removed, so that escaping alone is what
is being tested.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from harness.report import build_report
from harness.transcript import Run
from tests.report.conftest import BREAKOUT, IMG, LINK, PAYLOADS, SCRIPT, PageLog


class Elements(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def test_hostile_text_is_escaped_in_the_html(hostile_run: Run) -> None:
    html = build_report([hostile_run])
    tags = Elements(html).tags
    assert [t for t, _ in tags].count("script") == 1, "only the report's own script"
    assert not [t for t, _ in tags if t in ("img", "iframe", "object", "embed", "textarea")]
    for tag, attrs in tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "javascript:" not in value.lower() or name.startswith("data-"), (tag, name, value)
        if "href" in attrs:
            assert attrs["href"].startswith("#") or attrs["href"] == "data:,", attrs["href"]
    assert len(re.findall(r"(?i)<script", html)) == 1
    assert len(re.findall(r"(?i)</script", html)) == 1
    assert "<svg onload" not in html and "<img" not in html
    for payload in PAYLOADS:
        assert str(escape(payload)) in html, payload
    # the hostile delegation id, axis id and scorer reach SVG text, ids and data attributes escaped
    assert 'data-delegation="&lt;img src=x onerror=alert(2)&gt;"' in html
    assert "axis&lt;img src=x onerror=alert(2)&gt;" in html


def _hostile_page(hostile_run: Run, tmp_path: Path, *, csp: bool) -> Path:
    html = build_report([hostile_run])
    if not csp:
        html, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
        assert n == 1
    page = tmp_path / ("with-csp.html" if csp else "without-csp.html")
    page.write_text(html, encoding="utf-8")
    return page


@pytest.mark.browser
@pytest.mark.parametrize("csp", [True, False], ids=["as-shipped", "without-csp"])
def test_hostile_text_is_inert_in_the_browser(
    hostile_run: Run, tmp_path: Path, page: tuple[Any, PageLog], csp: bool
) -> None:
    pg, log = page
    pg.goto(_hostile_page(hostile_run, tmp_path, csp=csp).as_uri())
    pg.wait_for_load_state("load")
    pg.wait_for_timeout(300)  # give any (wrongly) injected handler time to fire
    pg.locator("button[data-filter='delegation']").nth(1).click()  # and exercise the script
    pg.locator("button[data-filter='delegation']").first.click()
    assert log.dialogs == [], f"a dialog fired: {log.dialogs}"
    assert log.errors == [], f"console errors: {log.errors}"
    assert pg.evaluate("document.scripts.length") == 1
    assert pg.evaluate("document.querySelectorAll('img, iframe, textarea, [onload], [onerror]').length") == 0
    assert pg.evaluate("document.querySelectorAll('a[href^=\"javascript\"]').length") == 0
    first = pg.locator(".utt-text").first
    assert first.is_visible()
    shown = first.inner_text()
    assert SCRIPT in shown and LINK in shown and BREAKOUT in shown
    assert pg.get_by_text(f"Inject {IMG}", exact=False).first.is_visible()
    assert all(not url.startswith(("http:", "https:")) for url in log.requests), log.requests
