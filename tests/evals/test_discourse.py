"""Reading a statement: sentences, who "we" is, and what is not the speaker's own position.

Every statement here was written for these tests from the rubric concepts (evals/rubrics/); none is taken
from a gold file.
"""

from __future__ import annotations

import pytest

from evals.scorers.codebook import Codebook, load_codebook
from evals.scorers.discourse import read_statement, resolve_pronouns, split_sentences


@pytest.fixture(scope="module")
def book() -> Codebook:
    return load_codebook()


def test_sentences_keep_abbreviations_and_closing_quotes() -> None:
    text = "U.S. forces will stay south. He said 'no.' Then we left! Did they? Yes."
    assert split_sentences(text) == [
        "U.S. forces will stay south.",
        "He said 'no.'",
        "Then we left!",
        "Did they?",
        "Yes.",
    ]


def test_we_becomes_the_speaking_delegation(book: Codebook) -> None:
    assert resolve_pronouns(book, "We will send our ships.", "JPN") == "Japan will send Japanese ships."
    assert resolve_pronouns(book, "We will send our ships.", "XYZ") == "We will send our ships."


def _dropped(book: Codebook, delegation: str, text: str) -> list[str | None]:
    return [s.dropped for s in read_statement(book, delegation, "u1", text)]


@pytest.mark.parametrize(
    "text",
    [
        "Should the SDF be allowed into Busan?",  # a question takes no position
        "The Vice Minister told our ambassador that China expects a briefing before any strike.",
        "Last night the ambassador told me the islands need more destroyers.",
        "The state media said that Japan should keep its troops at home.",
        "Before we decide anything, I need to know how many nationals are still in Seoul.",
        "How many ships go south is for the cabinet to decide.",
        "I am not going to argue ship counts in this room.",
    ],
)
def test_sentences_that_take_no_position_of_the_speaker(book: Codebook, text: str) -> None:
    assert _dropped(book, "US", text) != [None]


def test_hedges_and_conditionals_are_positions(book: Codebook) -> None:
    for text in (
        "Perhaps, and only perhaps, Japanese transport ships could use Busan.",
        "If the shelling reaches the capital, the SDF will go in and bring our people out.",
        "Unless the allies agree on one text, we tell Beijing nothing.",
    ):
        assert _dropped(book, "JPN", text) == [None], text


def test_another_actors_attitude_is_theirs_not_the_speakers(book: Codebook) -> None:
    [s] = read_statement(book, "US", "u1", "Tokyo wants armed SDF units in Seoul, and we support that.")
    assert "armed SDF" not in s.text and "support" in s.text  # Tokyo's wish is blanked; the US's view stays
    # the same words are the speaker's own position when the speaker is that actor
    [own] = read_statement(book, "JPN", "u1", "Tokyo wants armed SDF units in Seoul.")
    assert "armed SDF" in own.text and not own.removed


def test_a_conditional_clause_about_another_keeps_the_main_clause(book: Codebook) -> None:
    [s] = read_statement(book, "ROK", "u1", "If Tokyo wishes to help, its ships can wait off Tsushima.")
    assert "wishes" not in s.text and "wait off Tsushima" in s.text


def test_an_actor_named_after_a_preposition_is_no_subject(book: Codebook) -> None:
    [s] = read_statement(book, "US", "u1", "Our envoy in Beijing says we seek no wider war.")
    assert s.dropped is None and not s.removed
