"""The full exercise loop with the scripted fake model: event order, branching, caucus isolation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from harness.llm.fake import FakeCall
from harness.loaders import load_bundle
from harness.schema import (
    AdjudicationEvent,
    ErrorEvent,
    InjectEvent,
    ManifestEvent,
    PositionCardEvent,
    RunEndEvent,
    UtteranceEvent,
)
from tests.orchestrator.helpers import DEFAULT, SMOKE, ScriptedModel, UniqueResponder, run_fake


def _move_block(events: list, move: str) -> list:
    return [e for e in events if getattr(e, "move", None) == move]


def test_default_scenario_event_sequence(tmp_path: Path) -> None:
    result, run, model = run_fake(DEFAULT, tmp_path, ScriptedModel(UniqueResponder()))
    bundle = load_bundle(DEFAULT)
    scenario = bundle.scenario
    assert result.status == "completed"
    events = run.events
    assert isinstance(events[0], ManifestEvent)
    assert isinstance(events[-1], RunEndEvent) and events[-1].status == "completed"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    # default fake levels never satisfy the m2 branch condition -> every move in order
    assert run.moves() == [m.id for m in scenario.moves]
    n_deleg = len(scenario.delegations)
    for move in scenario.moves:
        block = _move_block(events, move.id)
        assert isinstance(block[0], InjectEvent)
        assert isinstance(block[-1], AdjudicationEvent)
        caucus = [e for e in block if isinstance(e, UtteranceEvent) and e.channel == "caucus"]
        expected_turns = move.caucus_rounds * sum(len(d.members) for d in scenario.delegations)
        assert len(caucus) == expected_turns
        cards = [e for e in block if isinstance(e, PositionCardEvent)]
        assert sorted(c.delegation for c in cards) == sorted(d.id for d in scenario.delegations)
        for c in cards:  # every axis of the scenario is on every card, with a level
            assert [s.axis for s in c.card.stances] == scenario.axes
            assert all(s.level is not None for s in c.card.stances)
        phases = [e.phase for e in block if isinstance(e, UtteranceEvent) and e.channel == "plenary"]
        # reports, then per round every delegation's question, then every answer
        rounds = (["question"] * n_deleg + ["answer"] * n_deleg) * move.plenary_rounds
        assert phases == ["report"] * n_deleg + rounds
        # order: each delegation's caucus before its card; all cards before the first report
        first_report = next(i for i, e in enumerate(block) if getattr(e, "phase", None) == "report")
        last_card = max(i for i, e in enumerate(block) if isinstance(e, PositionCardEvent))
        assert last_card < first_report
        for d in scenario.delegations:
            card_i = next(
                i for i, e in enumerate(block) if isinstance(e, PositionCardEvent) and e.delegation == d.id
            )
            turns = [
                i
                for i, e in enumerate(block)
                if isinstance(e, UtteranceEvent) and e.channel == "caucus" and e.delegation == d.id
            ]
            assert max(turns) < card_i
            # the head speaks last in each round
            speakers = [block[i].speaker for i in turns]
            assert speakers[-1] == d.head
        last_q = max(i for i, e in enumerate(block) if getattr(e, "phase", None) == "question")
        first_a = min(i for i, e in enumerate(block) if getattr(e, "phase", None) == "answer")
        assert last_q < first_a
    hot = [e for e in events if isinstance(e, UtteranceEvent) and e.phase == "hotwash"]
    assert Counter(e.delegation for e in hot) == Counter(d.id for d in scenario.delegations)
    # keys are unique, utterance ids equal keys, every model call is accounted for in usage
    keys = [e.key for e in events]
    assert len(keys) == len(set(keys))
    assert all(e.utterance_id == e.key for e in run.utterances())
    assert result.totals.calls == len(model.calls)
    assert result.totals.prompt_tokens > 0


def test_branch_follows_position_cards(tmp_path: Path) -> None:
    """The m2 branch (ROK neo <= 0 and JPN neo >= 3 -> m4) is taken only when the cards say so."""
    bundle = load_bundle(DEFAULT)
    m2 = bundle.scenario.move("m2")
    assert m2.branches, "the default scenario must keep a branch on m2"
    branch = m2.branches[0]
    levels: dict[tuple[str, str], dict[str, int]] = {}
    for cond in branch.when:
        target = cond.level
        levels.setdefault(("m2", cond.delegation), {})[cond.axis] = target
    _, run, _ = run_fake(DEFAULT, tmp_path / "taken", ScriptedModel(UniqueResponder(levels)))
    played = run.moves()
    i = played.index("m2")
    assert played[i + 1] == branch.goto
    adj = next(a for a in run.adjudications() if a.move == "m2")
    assert adj.next_move == branch.goto
    # break one condition: the branch is not taken
    cond = branch.when[0]
    broken = {k: dict(v) for k, v in levels.items()}
    off = {"<=": cond.level + 1, ">=": cond.level - 1, "==": (cond.level + 1) % 5}[cond.op]
    broken[("m2", cond.delegation)][cond.axis] = max(0, min(4, off))
    _, run2, _ = run_fake(DEFAULT, tmp_path / "not-taken", ScriptedModel(UniqueResponder(broken)))
    played2 = run2.moves()
    assert played2[played2.index("m2") + 1] == "m3"


def _delegation_of_call(messages: list[dict[str, str]], names: dict[str, str]) -> str | None:
    system = messages[0]["content"]
    for did, name in names.items():
        if f"member of the {name} delegation" in system:
            return did
    return None


def test_no_delegation_sees_another_caucus(tmp_path: Path) -> None:
    _, run, model = run_fake(DEFAULT, tmp_path, ScriptedModel(UniqueResponder()))
    scenario = load_bundle(DEFAULT).scenario
    names = {d.id: d.name for d in scenario.delegations}
    caucus_text: dict[str, list[str]] = {d: [] for d in names}
    for u in run.utterances():
        if u.channel == "caucus":
            caucus_text[u.delegation or ""].append(u.text)
    assert all(caucus_text.values())
    checked = 0
    for call in model.calls:
        owner = _delegation_of_call(call.messages, names)
        prompt = "\n".join(m["content"] for m in call.messages)
        for other, texts in caucus_text.items():
            if other == owner:
                continue
            for text in texts:
                assert text not in prompt, f"{owner or 'Control'} saw {other}'s caucus"
        checked += 1
    assert checked == len(model.calls) > 0
    # and a delegation does see its own caucus (the check above is not vacuous)
    own_seen = any(
        any(t in "\n".join(m["content"] for m in c.messages) for t in caucus_text["ROK"])
        for c in model.calls
        if _delegation_of_call(c.messages, names) == "ROK"
    )
    assert own_seen


def test_invalid_card_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    from harness.llm.base import InvalidReply

    base = UniqueResponder()

    def responder(call: FakeCall) -> str | dict[str, Any]:
        if call.response_model is not None and call.response_model.__name__.endswith("_ROK"):
            raise InvalidReply("reply is not valid JSON (hand-made failure)")
        return base(call)

    result, run, _ = run_fake(SMOKE, tmp_path, ScriptedModel(responder))
    assert result.status == "completed"
    errors = run.of(ErrorEvent)
    assert [e.key for e in errors] == ["m1/card/ROK/error"]
    assert "ROK" not in {c.delegation for c in run.cards()}
    assert run.of(RunEndEvent)[-1].status == "completed"
