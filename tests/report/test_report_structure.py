"""Structure of the HTML report: sections, one element per utterance, heatmap cells, working anchors,
nothing external, the no-scores state, several runs and the ``harness report`` command."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from itertools import combinations
from pathlib import Path

import pytest
from markupsafe import escape

from harness.cli import main as cli_main
from harness.errors import ConfigError
from harness.report import build_report, load_scores, write_report
from harness.report.render import TEMPLATES
from harness.schema import AxisScore, BackendInfo, Evidence, ManifestEvent, ScenarioRef, UtteranceEvent
from harness.transcript import Run, TranscriptWriter
from tests.report.conftest import make_fake_run, stated_scores, write_scores


class Tags(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.tags if "id" in a]

    def with_class(self, cls: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if cls in a.get("class", "").split()]


def heatmaps(html: str) -> dict[str, str]:
    """heatmap svg id → its markup."""
    return {k: svg for svg, k in re.findall(r'(?s)(<svg class="plot" id="([^"]+-hm)".*?</svg>)', html)}


def test_sections_and_manifest(scored_run: Run) -> None:
    html = build_report([scored_run])
    ids = Tags(html).ids()
    for section in ("summary", "manifest", "divergence", "transcript", "cards"):
        assert section in ids
    assert "distributions" not in ids  # only for several runs
    m = scored_run.manifest
    for fact in (m.run_id, m.scenario.id, "scripted", "Seed", "Wall time", "completed", "Human seats"):
        assert fact in html
    assert html.startswith("<!doctype html>")
    assert len(ids) == len(set(ids)), "duplicate element ids"


def test_one_element_per_utterance(scored_run: Run) -> None:
    tags = Tags(build_report([scored_run]))
    utts = tags.with_class("utt")
    assert len(utts) == len(scored_run.utterances())
    assert {u["id"] for u in utts} == {
        "u-" + re.sub(r"[^A-Za-z0-9_-]+", "-", u.utterance_id).strip("-") for u in scored_run.utterances()
    }
    by_id = {u.utterance_id: u for u in scored_run.utterances()}
    caucus = [u for u in utts if u["data-channel"] == "caucus"]
    assert len(caucus) == sum(1 for u in by_id.values() if u.channel == "caucus")
    # every move's inject, questions and adjudication are shown
    html = build_report([scored_run])
    for inj in scored_run.injects():
        assert f'id="move-{inj.move}"' in html
        for q in inj.set_questions:
            assert str(escape(q)) in html
    assert html.count('class="adjudication"') == len(scored_run.adjudications())


def test_heatmap_cells_are_pairs_times_moves(scored_run: Run) -> None:
    html = build_report([scored_run])
    maps = heatmaps(html)
    axes = {s.axis for s in stated_scores(scored_run)}
    assert len(maps) == len(axes)
    n_pairs = len(list(combinations(scored_run.delegations(), 2)))
    for svg in maps.values():
        assert svg.count('class="hm-cell') == n_pairs * len(scored_run.moves())
        assert "<title" in svg and "Delegation pair" in svg and "Move" in svg and "not scored" in svg
    timelines = re.findall(r'(?s)<svg class="plot" id="[^"]+-tl".*?</svg>', html)
    assert len(timelines) == len(axes)
    for svg in timelines:
        assert "Level (0–4)" in svg and all(d in svg for d in scored_run.delegations())


def test_cell_values_are_pairwise_distances(scored_run: Run) -> None:
    scores = stated_scores(scored_run)
    html = build_report([scored_run], {scored_run.run_id: scores})
    level = {(s.move, s.delegation, s.axis): s.level for s in scores}
    a, b = sorted(scored_run.delegations()[:2])
    move, axis = scored_run.moves()[0], scores[0].axis
    la, lb = level[(move, a, axis)], level[(move, b, axis)]
    assert la is not None and lb is not None
    cell = re.search(
        rf'<g class="hm-cell" data-pair="{a}–{b}" data-move="{move}" data-value="([0-9.]+)"', html
    )
    assert cell is not None and float(cell.group(1)) == pytest.approx(abs(la - lb) / 4)


def test_missing_levels_are_hatched_not_zero(fake_run: Run) -> None:
    scores = stated_scores(fake_run)
    first = fake_run.moves()[0]
    victim = fake_run.delegations()[0]
    scores = [
        s.model_copy(update={"level": None, "evidence": []})
        if (s.move, s.delegation) == (first, victim)
        else s
        for s in scores
    ]
    html = build_report([fake_run], {fake_run.run_id: scores})
    n_dels = len(fake_run.delegations())
    for svg in heatmaps(html).values():
        assert svg.count('class="hm-cell') == n_dels * (n_dels - 1) // 2 * len(fake_run.moves())
        assert svg.count("hm-missing") == n_dels - 1  # the victim's pairs in the first move


def test_evidence_links_resolve_and_cite_back(scored_run: Run) -> None:
    html = build_report([scored_run])
    tags = Tags(html)
    ids = set(tags.ids())
    hrefs = [a["href"] for _, a in tags.tags if "href" in a]
    internal = [h for h in hrefs if h.startswith("#")]
    assert internal, "no internal links"
    for h in internal:
        assert h[1:] in ids, f"dangling link {h}"
    evidence_links = [h for h in internal if h.startswith("#u-")]
    cited = {e.utterance_id for s in stated_scores(scored_run) for e in s.evidence}
    assert len({h for h in evidence_links}) >= len(cited) > 0
    assert 'class="cites"' in html  # cited utterances link back to their evidence entries


def test_no_external_resources(scored_run: Run) -> None:
    html = build_report([scored_run])
    assert not re.search(
        r"""(?i)\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", html
    )
    assert not re.search(r"(?i)url\(\s*['\"]?\s*(?:https?:)?//", html)
    assert "@import" not in html
    for tag, attrs in Tags(html).tags:
        assert tag not in ("iframe", "object", "embed", "base", "img")
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#") or value == "data:,", (tag, value)
    assert "default-src 'none'" in html


def test_no_scores_says_how_to_score(fake_run: Run) -> None:
    html = build_report([fake_run])
    assert html.count("No scores yet") >= 2
    assert "harness score RUN --scorer rules" in html
    assert not heatmaps(html)
    assert len(Tags(html).with_class("utt")) == len(fake_run.utterances())


def test_scores_are_read_from_the_run_folder(scored_run: Run) -> None:
    (scored_run.folder / "scores" / "judge.notes.jsonl").write_text('{"not": "a score"}\n')
    loaded = load_scores(scored_run)
    assert loaded == stated_scores(scored_run)
    assert build_report([scored_run]) == build_report([scored_run], {scored_run.run_id: loaded})


def test_summary_names_widest_gap_trend_and_scorer(fake_run: Run) -> None:
    """HAND-MADE scores with a known answer: A and B agree in the first move and split 4 vs 0 later."""
    a, b, c = fake_run.delegations()[:3]
    moves = fake_run.moves()
    quote_id = next(
        u.utterance_id for u in fake_run.utterances() if u.delegation == b and u.move == moves[-1]
    )
    rows = []
    for i, m in enumerate(moves):
        for d, lv in ((a, 4 if i else 2), (b, 0 if i else 2), (c, 2)):
            ev = [Evidence(utterance_id=quote_id, quote="we will not accept")] if d == b and i else []
            rows.append(
                AxisScore(
                    run_id=fake_run.run_id,
                    move=m,
                    delegation=d,
                    axis="neo",
                    level=lv,
                    evidence=ev,
                    scorer="rules",
                )
            )
    html = build_report([fake_run], {fake_run.run_id: rows})
    headline = re.search(r'(?s)<p class="headline">(.*?)</p>', html)
    assert headline is not None
    text = re.sub(r"<[^>]+>", "", headline.group(1))
    assert f"between {min(a, b)} and {max(a, b)} in move {moves[1]}" in text
    levels = "levels 4 vs 0" if a < b else "levels 0 vs 4"  # the pair is named in sorted order
    assert f"distance 1.00 ({levels})" in text and "rules" in text and "widened" in text
    assert "we will not accept" in html


def test_several_runs(tmp_path: Path, fake_run_folder: Path) -> None:
    first = tmp_path / fake_run_folder.name
    shutil.copytree(fake_run_folder, first, ignore=shutil.ignore_patterns("scores", "report.html"))
    folders = [first, make_fake_run(tmp_path / "more", seed=2)]
    runs = [Run.load(f) for f in folders]
    for run in runs:
        write_scores(run, "stated", stated_scores(run))
    html = build_report(runs)
    tags = Tags(html)
    ids = tags.ids()
    assert "distributions" in ids and "run-select" in ids
    assert len(ids) == len(set(ids))
    assert len(tags.with_class("utt")) == sum(len(r.utterances()) for r in runs)
    assert "95% CI" in html and re.search(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\]", html)
    with pytest.raises(ConfigError):
        write_report(folders)
    out = write_report(folders, tmp_path / "all.html")
    assert out.read_text(encoding="utf-8") == html


def _data_rows(html: str, attr: str) -> list[dict[str, str]]:
    return [a for _, a in Tags(html).tags if attr in a]


def test_report_and_divergence_command_agree(
    tmp_path: Path, fake_run_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One set of HAND-MADE scores over three runs: the report and `harness divergence --json` name the
    same trend, the same widest gap and the same confidence bounds (both come from evals.metrics)."""
    folders = [make_fake_run(tmp_path / f"r{seed}", seed=seed) for seed in (1, 2, 3)]
    runs = [Run.load(f) for f in folders]
    for k, run in enumerate(runs):
        a, b, c = run.delegations()[:3]
        rows = [
            AxisScore(run_id=run.run_id, move=m, delegation=d, axis=axis, level=lv, scorer="rules")
            for i, m in enumerate(run.moves())
            for axis in ("neo", "territorial")
            for d, lv in ((a, min(4, 1 + i + k % 2)), (b, max(0, 2 - i)), (c, 2 if axis == "neo" else 1 + k))
        ]
        write_scores(run, "rules", rows)
    html = build_report(runs)
    assert cli_main(["divergence", *map(str, folders), "--scorer", "rules", "--json"]) == 0
    (summary,) = json.loads(capsys.readouterr().out)["summaries"]
    summary_rows = {r["data-axis"]: r for r in _data_rows(html, "data-trend")}
    pair_rows = {(r["data-axis"], r["data-pair"]): r for r in _data_rows(html, "data-mean")}
    assert set(summary_rows) == set(summary["axes"]) == {"neo", "territorial"}
    for axis, a in summary["axes"].items():
        row = summary_rows[axis]
        assert row["data-trend"] == a["trend_label"]["label"]
        assert (
            row["data-widest-pair"] == a["widest"]["pair"] and row["data-widest-move"] == a["widest"]["move"]
        )
        assert float(row["data-widest-value"]) == pytest.approx(a["widest"]["value"], abs=1e-6)
        for pair, iv in a["distance_mean"].items():
            shown = pair_rows[(axis, pair)]
            assert float(shown["data-mean"]) == pytest.approx(iv["estimate"], abs=1e-6)
            assert float(shown["data-low"]) == pytest.approx(iv["low"], abs=1e-6)
            assert float(shown["data-high"]) == pytest.approx(iv["high"], abs=1e-6)
    assert {r["data-trend"] for r in summary_rows.values()} & {"widened", "narrowed"}  # the data has a trend


def test_script_never_writes_markup() -> None:
    js = (TEMPLATES / "script.js.j2").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
        assert sink not in js


def test_cli_report(scored_run: Run, tmp_path: Path) -> None:
    assert cli_main(["report", str(scored_run.folder)]) == 0
    written = scored_run.folder / "report.html"
    assert written.exists() and 'id="divergence"' in written.read_text(encoding="utf-8")
    assert cli_main(["report", str(scored_run.folder), str(scored_run.path)]) == 2  # several runs, no -o
    out = tmp_path / "sub" / "r.html"
    assert cli_main(["report", str(scored_run.path), "-o", str(out)]) == 0
    assert out.exists()
    assert cli_main(["report", str(tmp_path / "missing")]) == 2


def test_sparse_imported_transcript(tmp_path: Path) -> None:
    """HAND-MADE import-like transcript: no injects, cards, adjudications or run_end; a Control caucus."""
    with TranscriptWriter(tmp_path / "imp" / "transcript.jsonl") as w:
        w.write(
            ManifestEvent(
                key="manifest",
                run_id="imported",
                created="2026-01-01T00:00:00Z",
                harness_version="0.1.0",
                source="import",
                scenario=ScenarioRef(id="table-top", version="1", path="none.yaml", sha256="0"),
                backend=BackendInfo(profile="import"),
            )
        )
        for i, (d, channel, phase) in enumerate(
            [("A", "plenary", "report"), ("B", "plenary", "answer"), (None, "caucus", "caucus")]
        ):
            w.write(
                UtteranceEvent(
                    key=f"k{i}",
                    utterance_id=f"line {i}",
                    move="1",
                    phase=phase,
                    channel=channel,
                    delegation=d,
                    speaker=f"Speaker {i}",
                    author="import",
                    text=f"text {i}",
                )
            )
    run = Run.load(tmp_path / "imp")
    html = build_report([run])
    utts = Tags(html).with_class("utt")
    assert [u["id"] for u in utts] == ["u-line-2", "u-line-0", "u-line-1"]
    assert "no run_end" in html and "No position cards" in html and "import" in html
