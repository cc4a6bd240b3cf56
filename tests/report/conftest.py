"""Fixtures for the report tests: a default-scenario run made with the scripted fake model, hand-made
scores for it, a transcript full of hostile text, and (for ``@pytest.mark.browser``) headless Chromium.

The browser tests need Debian's Chromium and Playwright for Python (no downloaded browser):

    apt-get install -y --no-install-recommends chromium fonts-liberation fonts-dejavu-core
    .venv/bin/pip install playwright

They are skipped, with that hint, when either is missing.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from harness.schema import (
    AdjudicationEvent,
    Answer,
    AxisScore,
    BackendInfo,
    ErrorEvent,
    Evidence,
    InjectEvent,
    ManifestEvent,
    PositionCard,
    PositionCardEvent,
    Request,
    RunEndEvent,
    Sampling,
    ScenarioRef,
    Stance,
    UtteranceEvent,
)
from harness.transcript import Run, TranscriptWriter

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "tsd-2016-nk-crisis.yaml"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_SETUP = (
    "needs Debian's Chromium at /usr/bin/chromium and Playwright for Python: "
    "`apt-get install -y --no-install-recommends chromium fonts-liberation` and "
    "`.venv/bin/pip install playwright` "
    "(never `playwright install`)"
)

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
LINK = '<a href="javascript:alert(3)">click me</a> javascript:alert(4)'
BREAKOUT = "</textarea></style></script><svg onload=alert(5)>"
PAYLOADS = (SCRIPT, IMG, LINK, BREAKOUT)


def make_fake_run(out_root: Path, seed: int = 1) -> Path:
    """The default scenario played by the scripted fake model (no network); returns the run folder."""
    from harness.llm.fake import ScriptedModel
    from harness.runner import Models, RunRequest, start_run

    def play() -> Path:
        result = asyncio.run(
            start_run(
                RunRequest(scenario=SCENARIO, out_root=out_root, sampling=Sampling(seed=seed)),
                Models(default=ScriptedModel(), backend=BackendInfo(profile="scripted", model="scripted")),
            )
        )
        return Path(result.folder)

    # A thread of its own: Playwright's sync API keeps an event loop running in the test thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(play).result()


def stated_scores(run: Run) -> list[AxisScore]:
    """HAND-MADE fixture scores (not a real scorer): level = the card's stance level, and each scored
    unit cites the delegation's first caucus utterance of that move as its evidence."""
    rows: list[AxisScore] = []
    for ev in run.cards():
        caucus = [u for u in run.utterances() if u.move == ev.move and u.delegation == ev.delegation]
        for st in ev.card.stances:
            evidence = []
            if caucus and st.level is not None:
                evidence = [Evidence(utterance_id=caucus[0].utterance_id, quote=caucus[0].text[:60])]
            rows.append(
                AxisScore(
                    run_id=run.run_id,
                    move=ev.move,
                    delegation=ev.delegation,
                    axis=st.axis,
                    level=st.level,
                    evidence=evidence,
                    scorer="stated",
                )
            )
    return rows


def write_scores(run: Run, scorer: str, rows: list[AxisScore]) -> Path:
    path = run.folder / "scores" / f"{scorer}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(r.model_dump_json() + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def fake_run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fake_run(tmp_path_factory.mktemp("fake-runs"))


@pytest.fixture
def fake_run(fake_run_folder: Path, tmp_path: Path) -> Run:
    """A private copy of the fake run (tests may add score files to it)."""
    folder = tmp_path / fake_run_folder.name
    shutil.copytree(fake_run_folder, folder, ignore=shutil.ignore_patterns("scores", "report.html"))
    return Run.load(folder)


@pytest.fixture
def scored_run(fake_run: Run) -> Run:
    write_scores(fake_run, "stated", stated_scores(fake_run))
    return fake_run


def make_hostile_run(folder: Path) -> Run:
    """A HAND-MADE transcript with markup in every free-text field, and a score file quoting it."""
    hostile_a, hostile_b = f"US {SCRIPT}", f"ROK {IMG}"
    dels = ["US", IMG]
    with TranscriptWriter(folder / "transcript.jsonl") as w:
        w.write(
            ManifestEvent(
                key="manifest",
                run_id="hostile-run",
                created="2026-01-01T00:00:00Z",
                harness_version="0.1.0",
                scenario=ScenarioRef(id=f"scn{SCRIPT}", version="1", path="nowhere.yaml", sha256="0"),
                backend=BackendInfo(profile="scripted", model=IMG),
                human_seats=[SCRIPT],
            )
        )
        w.write(
            InjectEvent(
                key="m1/inject",
                move="m1",
                title=f"Title {SCRIPT}",
                text=f"Inject {IMG} {LINK}",
                set_questions=[f"Q {BREAKOUT}"],
            )
        )
        for i, (d, text) in enumerate(zip(dels, (hostile_a, hostile_b), strict=True)):
            for channel, phase in (("caucus", "caucus"), ("plenary", "report")):
                key = f"m1/{channel}/{d}/{i}"
                w.write(
                    UtteranceEvent(
                        key=key,
                        utterance_id=key,
                        move="m1",
                        phase=phase,
                        channel=channel,
                        delegation=d,
                        speaker=f"speaker {BREAKOUT}",
                        author="human",
                        to=dels[1 - i] if channel == "plenary" else None,
                        text=f"{text}\n{LINK}\n{BREAKOUT}",
                    )
                )
            card = PositionCard(
                delegation=d,
                move="m1",
                answers=[Answer(question=f"Q {BREAKOUT}", answer=f"A {SCRIPT}")],
                stances=[Stance(axis=f"axis{IMG}", level=(0, 4)[i], rationale=f"R {LINK}")],
                requests=[Request(to=dels[1 - i], ask=f"Ask {IMG}")],
                red_lines_invoked=[f"Red {SCRIPT}"],
            )
            w.write(PositionCardEvent(key=f"m1/card/{i}", move="m1", delegation=d, card=card))
        w.write(AdjudicationEvent(key="m1/adjudication", move="m1", text=f"Adj {SCRIPT}", scripted=False))
        w.write(ErrorEvent(key="m1/error", move="m1", where=f"w {IMG}", kind="k", message=f"m {SCRIPT}"))
        w.write(RunEndEvent(key="run_end/1", status="completed"))
    run = Run.load(folder)
    rows = [
        AxisScore(
            run_id=run.run_id,
            move="m1",
            delegation=d,
            axis=f"axis{IMG}",
            level=(0, 4)[i],
            evidence=[Evidence(utterance_id=f"m1/caucus/{d}/{i}", quote=f"quote {SCRIPT}")],
            scorer=f"stated{IMG}",
            model=SCRIPT,
        )
        for i, d in enumerate(dels)
    ]
    write_scores(run, "stated", rows)
    return run


@pytest.fixture
def hostile_run(tmp_path: Path) -> Run:
    return make_hostile_run(tmp_path / "hostile-run")


# ------------------------------------------------------------------------------------------------
# Headless Chromium
# ------------------------------------------------------------------------------------------------


def browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no {CHROMIUM}: {BROWSER_SETUP}"
    if importlib.util.find_spec("playwright") is None:
        return f"playwright is not installed: {BROWSER_SETUP}"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while it is open,
    which would break ``asyncio.run`` in later test modules."""
    reason = browser_missing()
    if reason:
        if os.environ.get("HARNESS_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class PageLog:
    """Console errors, uncaught page errors, dialogs and network requests seen by a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, PageLog]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, java_script_enabled=True)
    pg = context.new_page()
    log = PageLog(pg)
    try:
        yield pg, log
    finally:
        context.close()
