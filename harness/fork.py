"""``harness fork``: a counterfactual branch of a recorded run, as a new run that records its parent.

The new run replays the parent's history up to the branch move (same keys, new sequence numbers), starts
from the parent's checkpointed state at that move (or one rebuilt from its transcript), and plays on with
the changes given as ``--set KEY=VALUE``. It reads the same data folders as its parent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import keys
from harness.checkpoints import CHECKPOINTS, open_checkpoints
from harness.context import Options, ProgressHook
from harness.errors import ConfigError
from harness.graph import build_graph
from harness.prompts import Prompts
from harness.recorded import bundle_of
from harness.runner import (
    HumanIO,
    Models,
    RunResult,
    execute,
    make_context,
    manifest_for,
    move_overrides,
    new_run_id,
    options_from,
)
from harness.schema import ManifestEvent, Parent, PositionCardEvent, ResumeEvent, RunEndEvent
from harness.transcript import TRANSCRIPT_NAME, Run, TranscriptWriter

FORK_SAMPLING = {"seed": int, "temperature": float, "max_tokens": int}


def parse_sets(
    sets: list[str], at_move: str
) -> tuple[dict[str, Any], dict[str, dict[str, str]], bool | None]:
    """``--set KEY=VALUE`` → sampling changes, per-move text overrides, narrate."""
    sampling: dict[str, Any] = {}
    moves: dict[str, dict[str, str]] = {}
    narrate: bool | None = None
    for item in sets:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        key = key.strip()
        if key in FORK_SAMPLING:
            try:
                sampling[key] = FORK_SAMPLING[key](value)
            except ValueError as exc:
                raise ConfigError(
                    f"--set {key}: {value!r} is not a valid {FORK_SAMPLING[key].__name__}"
                ) from exc
        elif key in ("inject", "consequences"):
            moves.setdefault(at_move, {})[key] = value
        elif (
            key.startswith("moves.")
            and key.count(".") == 2
            and key.split(".")[2] in ("inject", "consequences")
        ):
            _, mid, fld = key.split(".")
            moves.setdefault(mid, {})[fld] = value
        elif key == "narrate":
            narrate = value.lower() in ("1", "true", "yes", "on")
        else:
            raise ConfigError(
                f"--set {key}: unknown key (use seed, temperature, max_tokens, inject, consequences, "
                "moves.<id>.inject, moves.<id>.consequences or narrate)"
            )
    return sampling, moves, narrate


async def fork_run(
    parent_run: str | Path,
    at_move: str,
    models: Models,
    *,
    sets: list[str] | None = None,
    out_root: Path = Path("transcripts"),
    run_id: str | None = None,
    options: Options | None = None,
    human_io: HumanIO | None = None,
    progress: ProgressHook | None = None,
) -> RunResult:
    """A counterfactual branch: a new run that replays the parent up to ``at_move`` and goes on from there."""
    parent = Run.load(parent_run, out_root)
    pm = parent.manifest
    bundle = bundle_of(pm)
    played = [i.move for i in parent.injects()]
    if at_move not in played:
        raise ConfigError(f"--at {at_move}: move not played in run {pm.run_id} (played: {', '.join(played)})")
    sampling_patch, move_patch, narrate = parse_sets(sets or [], at_move)
    for mid in move_patch:
        try:
            bundle.scenario.move(mid)
        except KeyError as exc:
            raise ConfigError(f"--set moves.{mid}: no such move") from exc
    before = played[: played.index(at_move)]
    state = await _fork_state(parent, at_move, before)
    sampling = pm.sampling.model_copy(update=sampling_patch)
    opts = options_from(pm, options or Options())
    if narrate is not None:
        opts.narrate = narrate
    merged_moves = {**move_overrides(pm), **move_patch}
    new_id = run_id or new_run_id(bundle.scenario.id)
    folder = out_root / new_id
    if (folder / TRANSCRIPT_NAME).exists():
        raise ConfigError(f"run {new_id} already exists in {out_root}")
    prompts = Prompts(bundle.paths.prompts.folders)
    writer = TranscriptWriter(folder / TRANSCRIPT_NAME)
    overrides: dict[str, Any] = {"sets": list(sets or []), "moves": merged_moves}
    writer.write(
        manifest_for(
            new_id,
            bundle,
            prompts,
            models,
            sampling,
            pm.human_seats,
            opts,
            Parent(run_id=pm.run_id, move=at_move),
            overrides,
        )
    )
    for e in parent.events:  # the shared history, same keys, new sequence numbers
        move = getattr(e, "move", None)
        if move in before and not isinstance(e, ManifestEvent | ResumeEvent | RunEndEvent):
            writer.write(e.model_copy(update={"seq": 0}))
    ctx = make_context(
        new_id, bundle, writer, prompts, models, sampling, pm.human_seats, opts, merged_moves, progress
    )
    return await execute(ctx, state, human_io, attempt=1, prior_wall=0.0)


async def _fork_state(parent: Run, at_move: str, before: list[str]) -> dict[str, Any]:
    """The parent's checkpointed state at the start of ``at_move``, or one rebuilt from its transcript."""
    db = parent.folder / CHECKPOINTS
    if db.exists():
        async with open_checkpoints(parent.folder) as saver:
            graph = build_graph(saver)
            config = {"configurable": {"thread_id": parent.run_id}}
            async for snap in graph.aget_state_history(config):
                if snap.values.get("move") == at_move and snap.next == ("open_move",):
                    values = dict(snap.values)
                    values["plenary_round"] = 0
                    return values
    cards = {
        keys.card_state(e.move, e.delegation): e.card.model_dump()
        for e in parent.events
        if isinstance(e, PositionCardEvent) and e.move in before
    }
    return {"move": at_move, "played": list(before), "cards": cards, "plenary_round": 0}
