"""Prompts are laid out stable prefix first (docs/design.md, "What each seat sees"): the calls of one
delegation share their system message, a caucus turn's prompt extends the previous turn's up to the speaker's
persona, and the head's plenary prompts of a move extend each other through the persona and the position
card, so a server with a prompt cache re-reads only what changed."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from harness.context import Options, options_for
from harness.llm.base import BackendUnavailable
from harness.llm.fake import FakeCall, ScriptedReply, default_responder
from harness.runner import RunInterrupted, resume_run
from harness.transcript import Run
from tests.orchestrator.helpers import DEFAULT, ScriptedModel, UniqueResponder, models, run_fake

PERSONA_START = "\n\nYou are "  # _persona.md's first line, after the shared context


def _user(call: FakeCall) -> str:
    return call.messages[-1]["content"]


def _whole(call: FakeCall) -> str:
    """The system message and the user message, as one text."""
    return call.messages[0]["content"] + "\x00" + _user(call)


def _shared_part(call: FakeCall) -> str:
    """The system message and the user message up to the speaker's persona."""
    whole = _whole(call)
    return whole[: whole.rindex(PERSONA_START)]


def test_a_delegation_has_one_system_message_and_caucus_turns_extend_each_other(tmp_path: Path) -> None:
    result, run, model = run_fake(DEFAULT, tmp_path, ScriptedModel(UniqueResponder()))
    assert result.status == "completed"
    systems: dict[str, set[str]] = {}
    caucus: dict[tuple[str, str], list[FakeCall]] = {}
    turns = [u for u in run.utterances() if u.channel == "caucus"]
    assert turns
    for call in model.calls:
        user, system = _user(call), call.messages[0]["content"]
        member = [line for line in system.splitlines() if line.startswith("You are a member of the ")]
        if not member:  # Control's narration
            continue
        delegation = member[0]
        systems.setdefault(delegation, set()).add(system)
        if "PRIVATE CAUCUS" in user and call.response_model is None:
            move = user[user.index("PRIVATE CAUCUS") :].split('"')[1]
            caucus.setdefault((delegation, move), []).append(call)
    assert len(systems) == 3
    assert all(len(v) == 1 for v in systems.values()), "one system message per delegation"
    assert len({next(iter(v)) for v in systems.values()}) == 3
    checked = 0
    for calls in caucus.values():
        for before, after in itertools.pairwise(calls):
            # everything the earlier turn had before its persona is the start of the later prompt
            assert _whole(after).startswith(_shared_part(before))
            checked += 1
    assert checked >= 10


def test_the_card_prompt_extends_the_last_caucus_turn(tmp_path: Path) -> None:
    _, _, model = run_fake(DEFAULT, tmp_path, ScriptedModel(UniqueResponder()))
    last_caucus: dict[str, FakeCall] = {}
    seen = 0
    for call in model.calls:
        user = _user(call)
        if "PRIVATE CAUCUS" not in user:
            continue
        system = call.messages[0]["content"]
        if call.response_model is None:
            last_caucus[system] = call
        else:
            assert _whole(call).startswith(_shared_part(last_caucus[system]))
            seen += 1
    assert seen >= 3


CARD_START = "Your delegation's position card for this move:"


def test_the_heads_plenary_calls_extend_each_other_through_persona_and_card(tmp_path: Path) -> None:
    """Report, question and answer of one delegation in one move share everything up to the end of the
    position card, the persona included: only the plenary so far and the instruction are new."""
    _, _, model = run_fake(DEFAULT, tmp_path, ScriptedModel(UniqueResponder()))
    by_seat: dict[tuple[str, str], list[FakeCall]] = {}
    for call in model.calls:
        user = _user(call)
        if CARD_START not in user or "PRIVATE CAUCUS" in user:
            continue
        inject = user[user.index("CURRENT INJECT") :].split('"')[1]
        by_seat.setdefault((call.messages[0]["content"], inject), []).append(call)
    assert len(by_seat) == 15  # 3 delegations x 5 moves
    for calls in by_seat.values():
        assert len(calls) >= 3  # report, question(s), answer(s)
        first = _user(calls[0])
        assert "PLENARY. As head of" in first  # the report comes first
        assert first.index(PERSONA_START) < first.index(CARD_START)
        card_end = first.index("\n\n", first.index(CARD_START))
        shared = calls[0].messages[0]["content"] + "\x00" + first[:card_end]
        assert all(_whole(later).startswith(shared) for later in calls[1:])


def test_brief_personas_keep_the_red_lines_and_drop_the_constraints(tmp_path: Path) -> None:
    opts = options_for("embedded")
    assert opts.persona_detail == "brief"
    full_model = ScriptedModel(UniqueResponder())
    run_fake(DEFAULT, tmp_path / "full", full_model, options=Options())
    brief_model = ScriptedModel(UniqueResponder())
    _, run, _ = run_fake(DEFAULT, tmp_path / "brief", brief_model, options=Options(persona_detail="brief"))
    assert run.manifest.options["persona_detail"] == "brief"
    full = _user(full_model.calls[0])
    brief = _user(brief_model.calls[0])
    assert "What constrains you:" in full and "What constrains you:" not in brief
    assert "Lines you will not cross:" in brief
    assert len(brief) < len(full)


def test_resume_keeps_the_recorded_persona_detail_and_sentences(tmp_path: Path) -> None:
    calls = {"n": 0}

    def dies_after_five(call: FakeCall) -> ScriptedReply:
        calls["n"] += 1
        if calls["n"] > 5:
            raise BackendUnavailable("the backend went away")
        return default_responder(call)

    tight = Options(persona_detail="brief", sentences="one or two")
    with pytest.raises(RunInterrupted):
        run_fake(DEFAULT, tmp_path, ScriptedModel(dies_after_five), options=tight, run_id="r1")
    manifest = Run.load(tmp_path / "r1").manifest
    assert manifest.options["persona_detail"] == "brief" and manifest.options["sentences"] == "one or two"
    # resumed by an invocation whose own defaults differ: the run's recorded options win
    second = ScriptedModel()
    result = asyncio.run(resume_run(tmp_path / "r1", models(second), out_root=tmp_path, options=Options()))
    assert result.status == "completed"
    spoken = [c for c in second.calls if c.response_model is None]
    assert spoken and all("in one or two sentences" in _user(c) for c in spoken)
    assert not any("What constrains you:" in _user(c) for c in second.calls)
