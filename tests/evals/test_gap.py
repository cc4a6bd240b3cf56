"""The stated-vs-revealed gap per delegation and axis, from hand-made scores (arithmetic in the comments),
and in `harness divergence`."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evals.metrics import gap_summaries, gap_summary
from evals.scores_io import write_scores
from harness.cli import main
from harness.schema import AxisScore

from .conftest import EXERCISE


def s(run: str, move: str, deleg: str, level: int | None, scorer: str, model: str | None = None) -> AxisScore:
    return AxisScore(
        run_id=run, move=move, delegation=deleg, axis="a1", level=level, scorer=scorer, model=model
    )


#                cards (stated)        words (judge j)
#            m1   m2   m3             m1   m2   m3
# r1  FIN     2    2    2              0    1    1
#     NOR     1    -    3              2    2    -
# r2  FIN     1                        0
#     NOR     3                        3
def table(
    levels: dict[tuple[str, str], list[int | None]], scorer: str, model: str | None = None
) -> list[AxisScore]:
    return [
        s(run, f"m{i}", deleg, lv, scorer, model)
        for (run, deleg), row in levels.items()
        for i, lv in enumerate(row, start=1)
    ]


CARDS = table(
    {("r1", "FIN"): [2, 2, 2], ("r1", "NOR"): [1, None, 3], ("r2", "FIN"): [1], ("r2", "NOR"): [3]}, "stated"
)
WORDS = table(
    {("r1", "FIN"): [0, 1, 1], ("r1", "NOR"): [2, 2, None], ("r2", "FIN"): [0], ("r2", "NOR"): [3]},
    "judge",
    "j",
)


def test_gap_per_delegation_and_axis_hand_computed() -> None:
    g = gap_summary(CARDS, WORDS, n_boot=0)
    assert (g.scorer, g.model, g.revealed) == ("judge", "j", "judge (j)")
    assert g.moves == ["m1", "m2", "m3"] and g.delegations == ["FIN", "NOR"]
    fin, nor = g.get("a1", "FIN"), g.get("a1", "NOR")
    assert fin is not None and nor is not None
    # FIN: (2−0)/4, (2−1)/4, (2−1)/4 in r1 and (1−0)/4 in r2 → mean 1.25/4 = 0.3125, all of one sign
    assert fin.n == 4 and fin.n_runs == 2
    assert fin.mean.estimate == pytest.approx(0.3125) and fin.mean_abs == pytest.approx(0.3125)
    assert fin.moves == pytest.approx({"m1": 0.375, "m2": 0.25, "m3": 0.25})  # m1: mean(0.5, 0.25)
    # NOR: r1 m1 (1−2)/4 = −0.25, r2 m1 (3−3)/4 = 0; m2 has no card level, m3 no revealed level: no gap
    assert nor.n == 2 and nor.n_stated == 3 and nor.n_revealed == 3
    assert nor.mean.estimate == pytest.approx(-0.125) and nor.mean_abs == pytest.approx(0.125)
    assert nor.moves == {"m1": pytest.approx(-0.125), "m2": None, "m3": None}
    assert nor.mean.low is None  # n_boot = 0: no interval
    with_ci = gap_summary(CARDS, WORDS, n_boot=200).get("a1", "FIN")
    assert with_ci is not None and with_ci.mean.low is not None and with_ci.mean.high is not None
    assert with_ci.mean.low <= 0.3125 <= with_ci.mean.high


def test_one_gap_per_judge_model_and_none_without_cards() -> None:
    other = [x.model_copy(update={"model": "k", "level": 4}) for x in WORDS]
    rules = [x.model_copy(update={"scorer": "rules", "model": None}) for x in WORDS]
    gaps = gap_summaries(CARDS + WORDS + other + rules, n_boot=0)
    assert [g.revealed for g in gaps] == ["judge (j)", "judge (k)"]
    k = gaps[1].get("a1", "FIN")
    assert k is not None and k.mean.estimate == pytest.approx((-0.5 - 0.5 - 0.5 - 0.75) / 4)
    assert gap_summaries(WORDS + rules, n_boot=0) == []
    [by_rules] = gap_summaries(CARDS + rules, revealed="rules", n_boot=0)
    assert by_rules.revealed == "rules"


def test_divergence_prints_and_writes_the_gap(
    run_folder: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = run_folder(EXERCISE)

    def retag(rows: list[AxisScore]) -> list[AxisScore]:
        return [x.model_copy(update={"axis": "neo"}) for x in rows if x.run_id == "r1"]  # the folder's run

    write_scores(folder / "scores" / "stated.jsonl", retag(CARDS))
    write_scores(folder / "scores" / "judge.jsonl", retag(WORDS))
    assert main(["divergence", str(folder), "--scorer", "judge", "--n-boot", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["scorer"] for s in out["summaries"]] == ["judge"]  # the cards beside are read for the gap only
    [gap] = out["gaps"]
    assert gap["revealed"] == "judge (j)" and gap["axes"]["neo"]["FIN"]["mean"]["estimate"] == pytest.approx(
        (0.5 + 0.25 + 0.25) / 3
    )
    assert main(["divergence", str(folder), "--scorer", "judge", "--n-boot", "0"]) == 0
    printed = capsys.readouterr().out
    assert "cards vs judge (j)" in printed and "+0.33" in printed
    out_csv = tmp_path / "summary.csv"
    files = [str(folder / "scores" / f"{n}.jsonl") for n in ("stated", "judge")]
    assert main(["divergence", *files, "--n-boot", "0", "-o", str(out_csv)]) == 0
    rows = [r for r in csv.DictReader(out_csv.open(encoding="utf-8")) if r["kind"] == "stated_gap"]
    fin = [r for r in rows if r["key"] == "FIN" and r["move"] == ""]
    assert len(fin) == 1 and float(fin[0]["value"]) == pytest.approx(1 / 3) and fin[0]["model"] == "j"
    assert main(["divergence", str(folder), "--scorer", "rules", "--n-boot", "0"]) == 2  # no rules scores
