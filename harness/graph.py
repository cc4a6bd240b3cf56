"""The exercise loop (docs/design.md) as a LangGraph graph.

    open_move ─▶ breakout×N ─▶ caucus_done ─▶ report×N ─▶ reports_done ─┐
        ▲                                                                │ (plenary rounds left?)
        │              ┌──────────── question×N ◀───────────────────────┤
        │              └─▶ questions_done ─▶ answer×N ─▶ answers_done ───┘
        │                                                                │ (no)
        └────────────── adjudicate ◀─────────────────────────────────────┘
                           └─▶ hotwash×N ─▶ END          (after the last move)

``×N`` is one parallel task per delegation (``Send``); the ``*_done`` nodes are fan-in points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from harness import nodes
from harness.context import RunContext
from harness.state import ExerciseState


def _each_delegation(node: str) -> Callable[[ExerciseState, Runtime[RunContext]], list[Send]]:
    def route(state: ExerciseState, runtime: Runtime[RunContext]) -> list[Send]:
        move = state.get("move")
        rnd = state.get("plenary_round", 0)
        return [
            Send(node, {"move": move, "delegation": d.id, "round": rnd})
            for d in runtime.context.scenario.delegations
        ]

    return route


def _plenary_or_adjudicate(state: ExerciseState, runtime: Runtime[RunContext]) -> list[Send] | str:
    ctx = runtime.context
    move_id = state.get("move")
    assert move_id is not None
    rnd = state.get("plenary_round", 0)
    if rnd <= ctx.move(move_id).plenary_rounds and len(ctx.scenario.delegations) > 1:
        return _each_delegation("question")(state, runtime)
    return "adjudicate"


def _next_move_or_hotwash(state: ExerciseState, runtime: Runtime[RunContext]) -> list[Send] | str:
    if state.get("move"):
        return "open_move"
    return _each_delegation("hotwash")(state, runtime)


def builder() -> StateGraph[ExerciseState, RunContext, ExerciseState, ExerciseState]:
    g: StateGraph[ExerciseState, RunContext, ExerciseState, ExerciseState] = StateGraph(
        ExerciseState, context_schema=RunContext
    )
    g.add_node("open_move", nodes.open_move)
    g.add_node("breakout", nodes.breakout)  # type: ignore[call-overload]
    g.add_node("caucus_done", nodes.join)
    g.add_node("report", nodes.report)  # type: ignore[arg-type]
    g.add_node("reports_done", nodes.next_round)
    g.add_node("question", nodes.question)  # type: ignore[arg-type]
    g.add_node("questions_done", nodes.join)
    g.add_node("answer", nodes.answer)  # type: ignore[arg-type]
    g.add_node("answers_done", nodes.next_round)
    g.add_node("adjudicate", nodes.adjudicate)
    g.add_node("hotwash", nodes.hotwash)  # type: ignore[arg-type]

    g.add_edge(START, "open_move")
    g.add_conditional_edges("open_move", _each_delegation("breakout"), ["breakout"])
    g.add_edge("breakout", "caucus_done")
    g.add_conditional_edges("caucus_done", _each_delegation("report"), ["report"])
    g.add_edge("report", "reports_done")
    g.add_conditional_edges("reports_done", _plenary_or_adjudicate, ["question", "adjudicate"])
    g.add_edge("question", "questions_done")
    g.add_conditional_edges("questions_done", _each_delegation("answer"), ["answer"])
    g.add_edge("answer", "answers_done")
    g.add_conditional_edges("answers_done", _plenary_or_adjudicate, ["question", "adjudicate"])
    g.add_conditional_edges("adjudicate", _next_move_or_hotwash, ["open_move", "hotwash"])
    g.add_edge("hotwash", END)
    return g


def build_graph(checkpointer: Any = None) -> Any:
    """The compiled exercise graph (with a checkpointer for runs; without one for LangGraph Studio)."""
    return builder().compile(checkpointer=checkpointer, name="delegation-exercise")


def studio_graph() -> Any:
    """Factory for ``langgraph.json`` / ``langgraph dev``: compiled without a custom checkpointer."""
    return builder().compile(name="delegation-exercise")
