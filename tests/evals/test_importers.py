"""Human transcripts (hand-written fixture records) → run folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.importers import import_record
from harness.errors import DataError, HarnessError
from harness.transcript import Run

RECORD_MD = """\
# Record of the tabletop exercise (hand-written fixture)

## Move 1: Missiles over Japan
Control reports launches over Honshu; Seoul is under artillery fire.

### Caucus
Kim Min-ji (ROK): We will not accept the Self-Defense Forces in this operation.
Japanese nationals can leave on commercial flights.
Sato Ken (JPN): Japan must be able to protect its own people, as Kim Min-ji knows.

### Plenary
Control: Delegations, please report.
Sato Ken (JPN): We request permission for armed SDF units at the assembly points.
John Doe (US): We support that with ROK consent.

## Move 2
Kim Min-ji (ROK): Japanese transport ships may dock at Busan under ROK control.
"""


def test_markdown_record(tmp_path: Path) -> None:
    src = tmp_path / "exercise.md"
    src.write_text(RECORD_MD, encoding="utf-8")
    folder = import_record(src, tmp_path / "out", run_id="imported-1")
    assert folder == tmp_path / "out" / "imported-1"
    run = Run.load(folder)
    assert run.manifest.source == "import" and run.run_id == "imported-1"
    assert run.moves() == ["m1", "m2"]
    [m1, m2] = run.injects()
    assert m1.title == "Missiles over Japan" and m1.text.startswith("Control reports launches")
    assert m2.title == "Move 2"
    us = run.utterances()
    assert [(u.delegation, u.phase, u.channel) for u in us] == [
        ("ROK", "caucus", "caucus"),
        ("JPN", "caucus", "caucus"),
        (None, "control", "plenary"),
        ("JPN", "report", "plenary"),
        ("US", "report", "plenary"),
        ("ROK", "report", "plenary"),
    ]
    assert us[0].text.endswith("commercial flights.")  # the continuation line joins its statement
    assert all(u.author == "import" for u in us) and len({u.utterance_id for u in us}) == len(us)
    assert us[0].speaker == "Kim Min-ji"


def test_anonymise(tmp_path: Path) -> None:
    src = tmp_path / "exercise.md"
    src.write_text(RECORD_MD, encoding="utf-8")
    run = Run.load(import_record(src, tmp_path / "out", anonymise_names=True, run_id="anon"))
    speakers = [u.speaker for u in run.utterances()]
    assert speakers == [
        "ROK speaker 1",
        "JPN speaker 1",
        "Control",
        "JPN speaker 1",
        "US speaker 1",
        "ROK speaker 1",
    ]
    everything = (folder_text := (run.folder / "transcript.jsonl").read_text(encoding="utf-8"))
    for name in ("Kim Min-ji", "Sato Ken", "John Doe"):
        assert name not in everything
    assert "as ROK speaker 1 knows" in folder_text


def test_csv_record(tmp_path: Path) -> None:
    src = tmp_path / "record.csv"
    src.write_text(
        "move,delegation,speaker,text,phase\n"
        '1,ROK,Kim,"We see no role for Japanese troops, in Korea or near it.",caucus\n'
        "1,,White cell,The DPRK fires again.,control\n"
        "2,JPN,Sato,Armed SDF escorts for the evacuation convoys.,report\n",
        encoding="utf-8",
    )
    run = Run.load(import_record(src, tmp_path / "out", run_id="csv"))
    us = run.utterances()
    assert [(u.move, u.delegation, u.phase, u.channel) for u in us] == [
        ("m1", "ROK", "caucus", "caucus"),
        ("m1", None, "control", "plenary"),
        ("m2", "JPN", "report", "plenary"),
    ]
    assert us[0].text == "We see no role for Japanese troops, in Korea or near it."


@pytest.mark.parametrize(
    ("name", "content", "line", "cause"),
    [
        ("a.md", "Kim (ROK): hello before any move\n", 1, "before any move heading"),
        ("b.md", "## Move 1\nKim (R OK): hello\n", 2, "not an id"),
        ("c.md", "## Move 1\nKim (ROK): a\n## Move 1\n", 3, "appears twice"),
        ("d.md", "## Move: no id\n", 1, "needs an id"),
        ("e.md", "## Move 1\nJust prose, no statements.\n", None, "no statements"),
        ("f.csv", "move,speaker,text\n1,Kim,hi\n", 1, "lacks column"),
        ("g.csv", "move,delegation,speaker,text\n1,ROK,Kim,\n", 2, "empty text"),
        ("h.csv", "move,delegation,speaker,text,phase\n1,ROK,Kim,hi,lunch\n", 2, "phase"),
        ("i.pdf", "%PDF", None, "expected a .md"),
    ],
)
def test_malformed_records(tmp_path: Path, name: str, content: str, line: int | None, cause: str) -> None:
    src = tmp_path / name
    src.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=cause) as info:
        import_record(src, tmp_path / "out")
    assert info.value.line == line and info.value.path == str(src)


def test_existing_run_is_not_overwritten(tmp_path: Path) -> None:
    src = tmp_path / "r.md"
    src.write_text("## Move 1\nKim (ROK): hello\n", encoding="utf-8")
    import_record(src, tmp_path, run_id="same")
    with pytest.raises(HarnessError, match="exists already"):
        import_record(src, tmp_path, run_id="same")
