"""The LLM judge with the scripted fake model: verification, masking, samples, panel, invariances."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evals.scorers.base import unit_utterances
from evals.scorers.judge import JudgeScorer, JudgeVerdict, build_judge_input
from harness.llm.fake import FakeCall, ScriptedModel
from harness.prompts import default_prompts
from harness.schema import Rubric
from harness.transcript import Run

from .conftest import EXERCISE, U

STATEMENT = re.compile(r"^\[(U\d+)\] [^\n]*?\): (.*)$", re.MULTILINE)


def statements(call: FakeCall) -> list[tuple[str, str]]:
    return STATEMENT.findall(call.messages[-1]["content"])


def quoting(level: str = "2", salience: int = 2) -> Callable[[FakeCall], dict[str, Any]]:
    """A judge that quotes the first five words of the first statement, verbatim."""

    def respond(call: FakeCall) -> dict[str, Any]:
        uid, text = statements(call)[0]
        return {
            "evidence": [{"utterance_id": uid, "quote": " ".join(text.split()[:5])}],
            "level": level,
            "salience": salience,
        }

    return respond


def judge_inputs(run: Run, delegation: str, rubric: Rubric) -> list[list[dict[str, str]]]:
    return [
        build_judge_input(run, move, d, utts, rubric, default_prompts()).messages
        for (move, d), utts in unit_utterances(run).items()
        if d == delegation
    ]


def test_verified_quote_scores(run_folder: Callable[..., Path], rubrics: dict[str, Rubric]) -> None:
    run = Run.load(run_folder(EXERCISE))
    judge = JudgeScorer([ScriptedModel(quoting("2"), model="j1")])
    scores = judge.score_run(run, {"neo": rubrics["neo"]})
    assert {(s.move, s.delegation) for s in scores} == {
        (m, d) for m in ("m1", "m2") for d in ("ROK", "JPN", "US")
    }
    rok = next(s for s in scores if (s.move, s.delegation) == ("m1", "ROK"))
    assert rok.level == 2 and rok.dist == [0, 0, 1, 0, 0] and rok.salience == 2 and rok.model == "j1"
    assert rok.evidence[0].quote == "We will not accept the"
    assert rok.evidence[0].utterance_id.startswith("m1/caucus/ROK/")  # mapped back to the real id
    assert all(n.status == "ok" for n in judge.notes)


def test_fabricated_quote_is_unscored(run_folder: Callable[..., Path], rubrics: dict[str, Rubric]) -> None:
    run = Run.load(run_folder(EXERCISE))

    def fabricate(call: FakeCall) -> dict[str, Any]:
        return {
            "evidence": [{"utterance_id": "U1", "quote": "Japan must never set foot here"}],
            "level": "0",
            "salience": 2,
        }

    judge = JudgeScorer([ScriptedModel(fabricate)])
    scores = judge.score_run(run, {"neo": rubrics["neo"]})
    assert all(s.level is None and s.dist is None and s.samples == 0 for s in scores)
    assert {n.status for n in judge.notes} == {"unverified"}
    assert "not found verbatim" in judge.notes[0].reason


@pytest.mark.parametrize(
    ("evidence", "why"),
    [
        ([], "no quoted evidence"),
        ([{"utterance_id": "U9", "quote": "We"}], "unknown statement"),
        ([{"utterance_id": "Q1", "quote": "We"}], "unknown statement"),
    ],
)
def test_unverifiable_evidence(
    evidence: list[dict[str, str]], why: str, run_folder: Callable[..., Path], rubrics: dict[str, Rubric]
) -> None:
    run = Run.load(run_folder(EXERCISE[:1]))
    judge = JudgeScorer([ScriptedModel(lambda call: {"evidence": evidence, "level": "1", "salience": 1})])
    [score] = judge.score_run(run, {"neo": rubrics["neo"]})
    assert score.level is None
    assert why in judge.notes[0].reason


def test_quote_check_normalises_whitespace_only(
    run_folder: Callable[..., Path], rubrics: dict[str, Rubric]
) -> None:
    run = Run.load(run_folder([U("m1", "ROK", "a", "Civilian   charter\nflights only.")]))

    def judge(quote: str) -> JudgeScorer:
        reply = {"evidence": [{"utterance_id": "U1", "quote": quote}], "level": "0", "salience": 2}
        return JudgeScorer([ScriptedModel(lambda call: reply)])

    assert judge("Civilian charter  flights").score_run(run, {"neo": rubrics["neo"]})[0].level == 0
    assert judge("civilian charter flights").score_run(run, {"neo": rubrics["neo"]})[0].level is None  # case


def test_not_addressed_and_invalid_reply(run_folder: Callable[..., Path], rubrics: dict[str, Rubric]) -> None:
    run = Run.load(run_folder(EXERCISE[:1]))
    na = JudgeScorer([ScriptedModel(lambda c: {"evidence": [], "level": "not_addressed", "salience": 0})])
    [score] = na.score_run(run, {"neo": rubrics["neo"]})
    assert score.level is None and score.salience == 0 and score.samples == 1
    bad = JudgeScorer([ScriptedModel(lambda c: {"level": 7})])
    [score] = bad.score_run(run, {"neo": rubrics["neo"]})
    assert score.level is None and score.samples == 0 and bad.notes[0].status == "invalid_reply"


def test_k_samples_make_a_distribution(run_folder: Callable[..., Path], rubrics: dict[str, Rubric]) -> None:
    run = Run.load(run_folder(EXERCISE[:1]))
    by_sample = {0: "2", 1: "3", 2: "2", 3: "4"}

    def respond(call: FakeCall) -> dict[str, Any]:
        reply = quoting(by_sample[call.sample])(call)
        if call.sample == 3:  # this sample fabricates its quote: dropped from the distribution
            reply["evidence"][0]["quote"] = "words nobody said"
        return reply

    model = ScriptedModel(respond)
    judge = JudgeScorer([model], samples=4)
    [score] = judge.score_run(run, {"neo": rubrics["neo"]})
    assert sorted(c.sample for c in model.calls) == [0, 1, 2, 3]  # sample index reaches the model layer
    # each sample asks with its own seed: a backend that honours seeds must not answer k times alike
    assert sorted(c.seed for c in model.calls if c.seed is not None) == [0, 1, 2, 3]
    assert all(c.response_model is JudgeVerdict for c in model.calls)
    assert score.dist == pytest.approx([0, 0, 2 / 3, 1 / 3, 0])  # 3 verified samples: 2, 3, 2
    assert score.level == 2 and score.samples == 3
    assert [n.status for n in sorted(judge.notes, key=lambda n: n.sample)] == ["ok", "ok", "ok", "unverified"]


def test_panel_per_model_or_pooled(run_folder: Callable[..., Path], rubrics: dict[str, Rubric]) -> None:
    run = Run.load(run_folder(EXERCISE[:1]))
    panel = [ScriptedModel(quoting("1"), model="small"), ScriptedModel(quoting("3"), model="large")]
    per_model = JudgeScorer(panel).score_run(run, {"neo": rubrics["neo"]})
    assert {(s.model, s.level) for s in per_model} == {("small", 1), ("large", 3)}
    [pooled] = JudgeScorer(panel, pool=True).score_run(run, {"neo": rubrics["neo"]})
    assert pooled.model == "small+large" and pooled.samples == 2
    assert (
        pooled.dist == pytest.approx([0, 0.5, 0, 0.5, 0]) and pooled.level == 1
    )  # tie → nearest the median, lower


MASK_FIXTURE = [
    U("m1", "NORTHLAND", "north-minister-kari", "Evacuate by ferry only.", phase="caucus"),
    U("m1", "SOUTHLAND", "south-general-olli", "Why no ships?", phase="question", to="NORTHLAND"),
    U(
        "m1",
        "NORTHLAND",
        "north-admiral-ville",
        "Because ships would inflame opinion.",
        phase="answer",
        to="SOUTHLAND",
    ),
]


def test_identity_is_masked(run_folder: Callable[..., Path], rubrics: dict[str, Rubric]) -> None:
    run = Run.load(run_folder(MASK_FIXTURE, injects={"m1": "A storm approaches the coast."}))
    [messages] = judge_inputs(run, "NORTHLAND", rubrics["neo"])
    prompt = "\n".join(m["content"] for m in messages)
    for secret in (
        "NORTHLAND",
        "SOUTHLAND",
        "north-minister-kari",
        "north-admiral-ville",
        "south-general-olli",
        "m1/",
    ):
        assert secret not in prompt
    assert "Delegation A, speaker 1 (caucus): Evacuate by ferry only." in prompt
    assert "Delegation A, speaker 2 (plenary, answer, to Delegation B)" in prompt
    assert "[Q1] Why no ships?" in prompt  # the question put to it, as context
    assert "A storm approaches the coast." in prompt
    assert rubrics["neo"].levels[3] in prompt  # the anchors are in the prompt


def _swap(u: U, a: str, b: str) -> U:
    swap = {a: b, b: a}
    return U(
        u.move,
        swap.get(u.delegation or "", u.delegation),
        u.speaker.replace(a.lower(), "@").replace(b.lower(), a.lower()).replace("@", b.lower()),
        u.text,  # the words inside the text stay
        u.phase,
        swap.get(u.to or "", u.to),
        u.round,
    )


def test_identity_swap_leaves_judge_inputs_unchanged(
    run_folder: Callable[..., Path], rubrics: dict[str, Rubric]
) -> None:
    original = [*EXERCISE, U("m2", "US", "us-dos", "Will Japan accept that?", phase="question", to="JPN")]
    swapped = [_swap(u, "ROK", "JPN") for u in original]
    run_a = Run.load(run_folder(original, name="a"))
    run_b = Run.load(run_folder(swapped, name="b"))
    for rubric in rubrics.values():
        assert judge_inputs(run_a, "ROK", rubric) == judge_inputs(run_b, "JPN", rubric)
        assert judge_inputs(run_a, "JPN", rubric) == judge_inputs(run_b, "ROK", rubric)
    # and through the scorer: the model sees the same prompts for the swapped delegation
    seen: dict[str, list[str]] = {}
    for name, run in (("a", run_a), ("b", run_b)):
        model = ScriptedModel(quoting("1"))
        JudgeScorer([model]).score_run(run, rubrics)
        seen[name] = sorted(c.messages[-1]["content"] for c in model.calls)
        assert len(seen[name]) == 12  # 2 moves × 3 delegations × 2 axes
    assert seen["a"] == seen["b"]


def test_order_of_other_delegations_does_not_matter(
    run_folder: Callable[..., Path], rubrics: dict[str, Rubric]
) -> None:
    base = [
        *EXERCISE,
        U("m1", "US", "us-dos", "Does Seoul accept MSDF ships?", phase="question", to="ROK", round=2),
        U(
            "m1",
            "JPN",
            "jpn-pm",
            "Will Seoul guarantee our nationals' safety?",
            phase="question",
            to="ROK",
            round=2,
        ),
    ]
    rok = [u for u in base if u.delegation == "ROK"]
    others = [u for u in base if u.delegation != "ROK"]
    reordered = others[::-1][:2] + rok[:1] + others[::-1][2:] + rok[1:]  # ROK's own order kept
    run_a = Run.load(run_folder(base, name="a"))
    run_b = Run.load(run_folder(reordered, name="b"))
    assert [u.delegation for u in run_a.utterances()] != [u.delegation for u in run_b.utterances()]
    for rubric in rubrics.values():
        assert judge_inputs(run_a, "ROK", rubric) == judge_inputs(run_b, "ROK", rubric)
