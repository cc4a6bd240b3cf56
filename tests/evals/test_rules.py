"""The rules scorer: agreement on the gold set, and the codebook's concepts one by one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evals.reliability import validate_scorer
from evals.rubrics import load_rubrics
from evals.scorers.rules import DEFAULT_CODEBOOK, RulesScorer, load_codebook
from harness.errors import DataError
from harness.schema import Rubric
from harness.transcript import Run

from .conftest import EXERCISE, GOLD_SEED, U

PARAPHRASES = Path(__file__).parent / "data" / "paraphrases.jsonl"
PARAPHRASES_2 = Path(__file__).parent / "data" / "paraphrases-2.jsonl"


@pytest.fixture(scope="module")
def rules() -> RulesScorer:
    return RulesScorer()


def _print(report: dict[str, Any]) -> None:
    for name, fig in [*report["axes"].items(), ("overall", report["overall"])]:
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


def test_agreement_on_second_author_paraphrases(rules: RulesScorer) -> None:
    # 96 statements written for issue 11 from the rubric anchors, in three batches (36, 36, and 24 in the
    # style of officials' public statements; per axis two or more per level plus statements without a
    # position: reported speech, questions, others' positions). Each batch was scored once, frozen, before
    # the codebook was extended from it (in-sample since): batch 1 rules exact 0.61 / coverage 0.60,
    # embedding head 0.81 / 0.90; batch 2 rules 0.69 / 0.71, head 0.81 / 0.89, offline 0.78 / 0.82;
    # batch 3 rules 0.62 / 0.58, head 0.58 / 0.79, offline 0.71 / 0.74.
    report = validate_scorer(PARAPHRASES_2, rules, load_rubrics())
    _print(report)
    overall = report["overall"]
    assert overall["exact_accuracy"] >= 0.9 and overall["coverage"] >= 0.9 and overall["kappa"] >= 0.9


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


# Written for these tests from the rubric concepts (evals/rubrics/), not taken from a gold file.
MECHANICS = [
    # negation: a refused role or message is the level below it
    (
        "Korea will never let Japanese warships berth at Busan; "
        "Japan's vessels can wait in international waters.",
        "ROK",
        "neo",
        1,
    ),
    (
        "We will not send a single additional destroyer to the Senkakus; the usual patrols there are enough.",
        "US",
        "territorial",
        1,
    ),
    ("We should not tell Beijing anything about our plans.", "JPN", "china_messaging", 0),
    # another country's position is not the speaker's
    ("Tokyo insists on sending armed troops into Seoul.", "US", "neo", None),
    ("Beijing wants a full briefing on every allied move.", "JPN", "china_messaging", None),
    ("Tokyo wants to move the bulk of its fleet to the Senkakus.", "US", "territorial", None),
    ("We want to move the bulk of our fleet to the Senkakus.", "JPN", "territorial", 4),
    # conditionals state a position
    ("If Seoul says no, Japan will send the SDF in anyway to rescue its citizens.", "JPN", "neo", 4),
    (
        "If China moves on the Senkakus, we will reinforce the southwest islands "
        "even at a cost to our support for Korea.",
        "JPN",
        "territorial",
        3,
    ),
    # consent: required (2/3 by the role), "not ... without" is a requirement, dismissed is 4
    ("Japanese transport aircraft may land at Gimhae only with Seoul's written consent.", "ROK", "neo", 2),
    ("Armed SDF guards may protect the assembly points, but only with the ROK's approval.", "US", "neo", 3),
    ("Japan would not deploy anything to Korea without Seoul's consent.", "JPN", "neo", 2),
    (
        "Japan will send armed SDF teams to the assembly points; "
        "Seoul's consent is welcome but not required.",
        "JPN",
        "neo",
        4,
    ),
    # reported speech and questions take no position
    ("The Korean minister told me that Japanese ships may use Busan.", "US", "neo", None),
    ("Xinhua reports that Beijing expects advance notice of any strike.", "US", "china_messaging", None),
    ("Should we give Beijing advance notice before the strike?", "US", "china_messaging", None),
    ("Can Japan spare two destroyers for the Senkakus?", "US", "territorial", None),
    # hedges still state a position
    (
        "I would lean, tentatively, toward giving Beijing a heads-up before any strike.",
        "ROK",
        "china_messaging",
        3,
    ),
    (
        "Maybe Japan could keep a small reserve of destroyers in the southwest while the rest support Korea.",
        "US",
        "territorial",
        2,
    ),
]


@pytest.mark.parametrize(("text", "delegation", "axis", "level"), MECHANICS)
def test_mechanics(rules: RulesScorer, text: str, delegation: str, axis: str, level: int | None) -> None:
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
