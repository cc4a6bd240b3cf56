"""The rules scorer: agreement on the gold set, and the codebook's concepts one by one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evals.reliability import validate_scorer
from evals.rubrics import load_rubrics
from evals.scorers.rules import DEFAULT_CODEBOOK, RulesScorer, load_codebook
from harness.errors import DataError
from harness.schema import Rubric
from harness.transcript import Run

from .conftest import EXERCISE, GOLD_SEED, U

PARAPHRASES = Path(__file__).parent / "data" / "paraphrases.jsonl"


@pytest.fixture(scope="module")
def rules() -> RulesScorer:
    return RulesScorer()


def _print(report: dict[str, object]) -> None:
    for name, fig in [*report["axes"].items(), ("overall", report["overall"])]:  # type: ignore[attr-defined]
        shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in fig.items() if k != "confusion"}
        print(f"rules on {Path(str(report['gold'])).name} [{name}]: {shown}")


def test_agreement_on_the_seed_set_in_sample(rules: RulesScorer) -> None:
    report = validate_scorer(GOLD_SEED, rules, load_rubrics())
    _print(report)
    overall = report["overall"]
    # IN-SAMPLE figures: the codebook was written with seed.jsonl in view (evals/gold/README.md); the
    # out-of-sample figures are those on evals/gold/test.jsonl.
    assert overall["kappa"] >= 0.9 and overall["alpha"] >= 0.9
    assert overall["na_accuracy"] >= 0.9 and overall["coverage"] >= 0.85 and overall["exact_accuracy"] >= 0.85
    for fig in report["axes"].values():
        assert fig["kappa"] >= 0.8 and fig["na_accuracy"] >= 0.8


def test_agreement_on_author_paraphrases(rules: RulesScorer) -> None:
    # 84 statements written for this test from the rubric anchors (not from dev.jsonl). The last 24
    # were scored once, frozen, before any rule change: exact 0.79, kappa 0.92, alpha 0.94, NA acc 0.83.
    report = validate_scorer(PARAPHRASES, rules, load_rubrics())
    _print(report)
    overall = report["overall"]
    assert overall["kappa"] >= 0.85 and overall["alpha"] >= 0.85
    assert overall["na_accuracy"] >= 0.85 and overall["exact_accuracy"] >= 0.75


@pytest.mark.parametrize(
    ("text", "delegation", "axis", "level"),
    [
        # negation: the same concept refused or accepted
        ("We will not accept Japanese troops in Korea.", "ROK", "neo", 0),
        ("Diverting destroyers to the Senkakus would be a mistake.", "US", "territorial", 1),
        (
            "Japan should reinforce the Senkakus now, even if that reduces support for the peninsula.",
            "US",
            "territorial",
            3,
        ),
        ("We should tell Beijing nothing about the timing.", "US", "china_messaging", 0),
        ("Beijing should get advance notice before any strike.", "US", "china_messaging", 3),
        # consent: given (2/3) or dismissed (4)
        ("MSDF ships may use Busan for transport only, with ROK consent.", "US", "neo", 2),
        ("Armed SDF units will guard the assembly points; ROK consent is secondary.", "JPN", "neo", 4),
        # not addressed: no position on the axis
        ("We condemn the missile launch.", "JPN", "neo", None),
        ("The Senkakus are Japanese territory.", "JPN", "territorial", None),
    ],
)
def test_concepts(rules: RulesScorer, text: str, delegation: str, axis: str, level: int | None) -> None:
    assert rules.score_text(text, delegation, axis).level == level


def test_we_is_resolved_from_the_speaker(rules: RulesScorer) -> None:
    text = "Our forces will escort the evacuation convoys in Seoul."
    assert rules.score_text(text, "JPN", "neo").level == 3  # Japanese forces protecting convoys
    assert rules.score_text(text, "ROK", "neo").level == 1  # Korean forces move them: SDF not in Korea


def test_the_delegation_is_never_a_prior(rules: RulesScorer) -> None:
    text = "Japanese transport aircraft may land at Gimhae under ROK control."
    levels = {d: rules.score_text(text, d, "neo").level for d in ("US", "ROK", "JPN", "XYZ", None)}
    assert set(levels.values()) == {2}


def test_unit_pools_caucus_and_plenary(
    rules: RulesScorer, run_folder: Callable[..., Path], rubrics: dict[str, Rubric]
) -> None:
    hotwash = U(
        "hotwash", "ROK", "rok-fm", "Japan wanted armed SDF units in Seoul; we refused.", phase="hotwash"
    )
    run = Run.load(run_folder([*EXERCISE, hotwash]))
    scores = {(s.move, s.delegation, s.axis): s for s in rules.score_run(run, rubrics)}
    assert not any(k[0] == "hotwash" for k in scores)  # reflections on divergence are not positions
    assert scores[("m1", "ROK", "neo")].level == 0
    assert scores[("m1", "JPN", "neo")].level == 4
    assert scores[("m1", "US", "neo")].level == 1
    assert scores[("m2", "ROK", "neo")].level == 2 and scores[("m2", "JPN", "neo")].level == 2
    assert scores[("m1", "ROK", "china_messaging")].level is None  # not addressed
    assert scores[("m1", "ROK", "china_messaging")].salience == 0
    rok = scores[("m1", "ROK", "neo")]
    assert len({e.utterance_id for e in rok.evidence}) == 2  # the caucus turn and the plenary report
    texts = {u.utterance_id: u.text for u in run.utterances()}
    assert all(e.quote in texts[e.utterance_id] for e in rok.evidence)  # evidence is verbatim
    assert not any(k[1] == "control" for k in scores)  # Control is not a delegation
    assert sum(rok.dist or []) == pytest.approx(1.0)


def test_codebook_errors_name_the_field(tmp_path: Path) -> None:
    text = DEFAULT_CODEBOOK.read_text(encoding="utf-8")
    bad_regex = tmp_path / "bad_regex.yaml"
    bad_regex.write_text(text.replace("pattern: '{OUTSIDE}'", "pattern: '(unclosed'"), encoding="utf-8")
    with pytest.raises(DataError, match="regular expression") as info:
        load_codebook(bad_regex)
    assert info.value.line is not None
    bad_macro = tmp_path / "bad_macro.yaml"
    bad_macro.write_text(text.replace("pattern: '{OUTSIDE}'", "pattern: '{NO_SUCH_MACRO}'"), encoding="utf-8")
    with pytest.raises(DataError, match="unknown macro") as info:
        load_codebook(bad_macro)
    assert info.value.field is not None and "neo" in info.value.field
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(text + "\nsurprise: 1\n", encoding="utf-8")
    with pytest.raises(DataError, match="unknown field"):
        load_codebook(unknown)
