"""The ``judge`` scorer: an LLM with the anchored rubric, one delegation × axis per call (docs/evaluation.md).

* **Identity-blind**: the scored delegation is "Delegation A"; its speakers are "speaker 1, 2…" and the
  delegations it addresses "Delegation B, C…" (lettered by first appearance in its own statements), and
  utterance ids become "U1, U2…". The words inside the text stay. Context is the move's inject and the
  questions put to the delegation in canonical (round, text) order, so neither the delegations' names
  nor the order of other delegations' utterances changes what the judge sees.
* **Verified evidence**: every quote must appear verbatim (whitespace-normalised) in the statement it
  cites; a sample with a level but an unverifiable or missing quote is unscored, and why is recorded in
  :attr:`JudgeScorer.notes` (``scores/judge.notes.jsonl`` from the CLI).
* **k samples** (``sample=i`` reaches the model layer, so caches never collapse them) → ``dist`` over the
  verified levelled samples; level = their mode (a tie goes to the level nearest the median). If more
  valid samples say "not_addressed" than give a level, the unit is not addressed (null).
* **Calibration** (:mod:`evals.calibration`): with a calibration file, each verified sample's level goes
  through its judge model's fitted monotone map before aggregation; the score keeps ``raw_level`` and
  names the ``calibration``, the notes keep each sample's raw and calibrated level.
* **Panel** (:mod:`evals.scorers.panel`): with several models, one AxisScore per judge model (``model``
  names it), so every judge's agreement stays visible; ``combine`` instead makes one score per unit by
  pooling the samples (``pool``, model "a+b"), by majority or by the (calibrated) mean of the members.
  :attr:`JudgeScorer.members` keeps every member's own scores (for
  :func:`~evals.scorers.panel.panel_agreement`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from evals.calibration import Calibration, load_calibration
from evals.scorers.base import mode_level, normalise_ws, unit_utterances
from evals.scorers.judge_notes import JudgeNote
from evals.scorers.panel import COMBINE, Combine, combine_members
from harness.errors import ConfigError
from harness.llm.base import ChatModel, InvalidReply, Message
from harness.prompts import Prompts, default_prompts
from harness.schema import LEVELS, AxisScore, Evidence, Rubric, UtteranceEvent
from harness.transcript import Run

if TYPE_CHECKING:
    from evals.scorers import ScorerSettings

log = logging.getLogger(__name__)
R = TypeVar("R")


class JudgeLevel(StrEnum):
    L0 = "0"
    L1 = "1"
    L2 = "2"
    L3 = "3"
    L4 = "4"
    NOT_ADDRESSED = "not_addressed"


class JudgeQuote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    utterance_id: str
    quote: str


class JudgeVerdict(BaseModel):
    """The judge's structured reply."""

    model_config = ConfigDict(extra="forbid")
    evidence: list[JudgeQuote] = Field(default_factory=list)
    level: JudgeLevel
    salience: Literal[0, 1, 2]


@dataclass
class JudgeInput:
    messages: list[Message]
    ids: dict[str, str]  # local id ("U1") -> utterance_id
    texts: dict[str, str]  # local id -> whitespace-normalised text


@dataclass
class Outcome:
    status: Literal["ok", "not_addressed", "unverified", "invalid_reply"]
    level: int | None = None
    salience: int | None = None
    evidence: list[Evidence] = field(default_factory=list)
    reason: str = ""


def _letters(i: int) -> str:
    return chr(ord("B") + i) if i < 25 else f"B{i}"


def build_judge_input(
    run: Run,
    move: str,
    delegation: str,
    utterances: Sequence[UtteranceEvent],
    rubric: Rubric,
    prompts: Prompts,
) -> JudgeInput:
    """The masked prompt for one (move, delegation, axis) unit."""
    speakers: dict[str, str] = {}
    addressees: dict[str, str] = {}
    shown: list[dict[str, str]] = []
    ids: dict[str, str] = {}
    texts: dict[str, str] = {}
    for i, u in enumerate(utterances, start=1):
        local = f"U{i}"
        speaker = speakers.setdefault(u.speaker, f"Delegation A, speaker {len(speakers) + 1}")
        where = u.channel if u.phase == u.channel else f"{u.channel}, {u.phase}"
        if u.to is not None and u.to != delegation:
            where += f", to Delegation {addressees.setdefault(u.to, _letters(len(addressees)))}"
        shown.append({"id": local, "speaker": speaker, "where": where, "text": u.text.strip()})
        ids[local] = u.utterance_id
        texts[local] = normalise_ws(u.text)
    asked = sorted(
        (q.round, q.text.strip())
        for q in run.utterances()
        if q.move == move and q.to == delegation and q.delegation not in (None, delegation)
    )
    inject = next((e for e in run.injects() if e.move == move), None)
    user = prompts.render(
        "judge",
        rubric=rubric,
        levels=sorted(rubric.levels.items()),
        move_title=inject.title if inject else move,
        inject=inject.text.strip() if inject else "",
        set_questions=inject.set_questions if inject else [],
        questions=[{"id": f"Q{i}", "text": t} for i, (_, t) in enumerate(asked, start=1)],
        utterances=shown,
    )
    system = prompts.render("judge.system")
    return JudgeInput([{"role": "system", "content": system}, {"role": "user", "content": user}], ids, texts)


def verify(verdict: JudgeVerdict, inp: JudgeInput) -> Outcome:
    """Check every quote verbatim (whitespace-normalised) against the statement it cites."""
    if verdict.level is JudgeLevel.NOT_ADDRESSED:
        return Outcome("not_addressed", None, 0)
    level = int(verdict.level.value)
    if not verdict.evidence:
        return Outcome("unverified", level, verdict.salience, reason="a level with no quoted evidence")
    evidence: list[Evidence] = []
    for q in verdict.evidence:
        local = q.utterance_id.strip().strip("[]").upper()
        quote = normalise_ws(q.quote).strip("\"'“”")
        if local not in inp.ids:
            return Outcome(
                "unverified", level, verdict.salience, reason=f"cites unknown statement {q.utterance_id!r}"
            )
        if not quote or quote not in inp.texts[local]:
            return Outcome(
                "unverified",
                level,
                verdict.salience,
                reason=f"quote not found verbatim in {local}: {quote[:80]!r}",
            )
        ev = Evidence(utterance_id=inp.ids[local], quote=quote)
        if ev not in evidence:
            evidence.append(ev)
    return Outcome("ok", level, verdict.salience, evidence)


def aggregate(
    outcomes: Sequence[Outcome],
) -> tuple[int | None, list[float] | None, int | None, list[Evidence], int]:
    """(level, dist, salience, evidence, valid samples) from one unit's samples."""
    valid = [o for o in outcomes if o.status in ("ok", "not_addressed")]
    levelled = [o.level for o in valid if o.status == "ok" and o.level is not None]
    if not valid:
        return None, None, None, [], 0
    saliences = sorted(o.salience or 0 for o in valid)
    salience = saliences[(len(saliences) - 1) // 2]
    if not levelled or len(levelled) < len(valid) - len(levelled):
        return None, None, salience, [], len(valid)
    level = mode_level(levelled)
    dist = [levelled.count(lv) / len(levelled) for lv in LEVELS]
    evidence: list[Evidence] = []
    for o in valid:
        for ev in o.evidence if o.level == level else []:
            if ev not in evidence:
                evidence.append(ev)
    return level, dist, salience, evidence[:5], len(valid)


def _run_sync(coro: Coroutine[Any, Any, R]) -> R:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # called from inside a loop
        return pool.submit(asyncio.run, coro).result()


def calibrated(outcome: Outcome, mapping: Mapping[int, int] | None) -> Outcome:
    """The outcome with its level put through a calibration map (only verified levels are mapped)."""
    if mapping is None or outcome.status != "ok" or outcome.level is None:
        return outcome
    return replace(outcome, level=mapping[outcome.level])


class JudgeScorer:
    """An LLM judge (or a panel of them) behind the :class:`~evals.scorers.base.Scorer` interface."""

    name = "judge"

    def __init__(
        self,
        models: Sequence[ChatModel],
        *,
        samples: int = 1,
        temperature: float | None = None,
        seed: int | None = 0,
        max_tokens: int | None = 512,
        pool: bool = False,
        combine: Combine | None = None,
        calibration: Calibration | None = None,
        concurrency: int = 4,
        prompts: Prompts | None = None,
    ) -> None:
        if not models:
            raise ValueError("a judge needs at least one model")
        if samples < 1:
            raise ValueError("samples must be at least 1")
        if combine is not None and combine not in COMBINE:
            raise ConfigError(f"unknown panel combination {combine!r}: choose one of {', '.join(COMBINE)}")
        self.models = list(models)
        self.samples = samples
        self.temperature = temperature if temperature is not None else (0.0 if samples == 1 else 0.8)
        self.seed = seed
        self.max_tokens = max_tokens
        self.combine: Combine = (combine or ("pool" if pool else "none")) if len(self.models) > 1 else "none"
        self.calibration = calibration
        self.maps = {m.model: calibration.for_model(m.model).mapping for m in self.models if calibration}
        self.concurrency = max(1, concurrency)
        self.prompts = prompts or default_prompts()
        self.notes: list[JudgeNote] = []
        self.members: list[AxisScore] = []
        """Every member's own score of every unit scored so far (equal to the output when not combined)."""

    @property
    def pool(self) -> bool:
        return self.combine == "pool"

    @classmethod
    def from_settings(cls, settings: ScorerSettings) -> JudgeScorer:
        """``settings.options``: ``calibration`` (a file or a loaded :class:`Calibration`), ``combine``."""
        given = settings.options.get("calibration")
        calibration = load_calibration(given) if isinstance(given, str | Path) else given
        combine = settings.options.get("combine")
        return cls(
            settings.models,
            samples=settings.samples,
            seed=settings.seed,
            pool=settings.pool,
            combine=cast("Combine | None", combine),
            calibration=cast("Calibration | None", calibration),
            concurrency=settings.concurrency,
        )

    def score_run(self, run: Run, rubrics: Mapping[str, Rubric]) -> list[AxisScore]:
        return _run_sync(self.ascore_run(run, rubrics))

    def score_runs(self, items: Sequence[tuple[Run, Mapping[str, Rubric]]]) -> list[list[AxisScore]]:
        """Several runs in one event loop, sharing the concurrency limit (gold sets: one run a row)."""
        return _run_sync(self._ascore_runs(items))

    async def _ascore_runs(self, items: Sequence[tuple[Run, Mapping[str, Rubric]]]) -> list[list[AxisScore]]:
        gate = asyncio.Semaphore(self.concurrency)
        done = await asyncio.gather(*(self._judge(run, rubrics, gate) for run, rubrics in items))
        for _, notes, members in done:  # recorded in input order, whatever order the calls finished in
            self.notes += notes
            self.members += members
        return [scores for scores, _, _ in done]

    async def ascore_run(self, run: Run, rubrics: Mapping[str, Rubric]) -> list[AxisScore]:
        [scores] = await self._ascore_runs([(run, rubrics)])
        return scores

    async def _ask(self, inp: JudgeInput, model: ChatModel, sample: int, gate: asyncio.Semaphore) -> Outcome:
        async with gate:
            try:
                reply = await model.acomplete(
                    inp.messages,
                    response_model=JudgeVerdict,
                    temperature=self.temperature,
                    seed=None if self.seed is None else self.seed + sample,  # k samples, k seeds
                    max_tokens=self.max_tokens,
                    sample=sample,
                )
            except InvalidReply as exc:
                return Outcome("invalid_reply", reason=str(exc)[:200])
        if not isinstance(reply.parsed, JudgeVerdict):
            return Outcome("invalid_reply", reason="no structured reply")
        return verify(reply.parsed, inp)

    def _score(
        self, run: Run, unit: tuple[str, str, str], model: str, per_model: Mapping[str, list[Outcome]]
    ) -> AxisScore:
        """One score of one unit from the raw sample outcomes of one or more judge models (pooled), each
        sample calibrated with its own model's map when there is a calibration."""
        move, deleg, axis = unit
        raw = [o for os in per_model.values() for o in os]
        mapped = [calibrated(o, self.maps.get(m)) for m, os in per_model.items() for o in os]
        level, dist, salience, evidence, n = aggregate(mapped)
        return AxisScore(
            run_id=run.run_id,
            move=move,
            delegation=deleg,
            axis=axis,
            level=level,
            dist=dist,
            evidence=evidence,
            salience=salience,
            scorer=self.name,
            model=model,
            samples=n,
            raw_level=aggregate(raw)[0] if self.calibration else None,
            calibration=self.calibration.id if self.calibration else None,
        )

    async def _judge(
        self, run: Run, rubrics: Mapping[str, Rubric], gate: asyncio.Semaphore
    ) -> tuple[list[AxisScore], list[JudgeNote], list[AxisScore]]:
        """(scores, notes, members' scores) of one run."""
        units = [(key, axis, utts) for key, utts in unit_utterances(run).items() for axis in rubrics]
        inputs = [
            build_judge_input(run, m, d, utts, rubrics[axis], self.prompts) for (m, d), axis, utts in units
        ]
        jobs = [
            (u, m, s) for u in range(len(units)) for m in range(len(self.models)) for s in range(self.samples)
        ]
        results = await asyncio.gather(*(self._ask(inputs[u], self.models[m], s, gate) for u, m, s in jobs))
        notes: list[JudgeNote] = []
        by_unit: dict[int, dict[str, list[Outcome]]] = {}
        for (u, m, s), outcome in zip(jobs, results, strict=True):
            (move, deleg), axis, _ = units[u]
            model = self.models[m].model
            mapping = self.maps.get(model)
            notes.append(
                JudgeNote(
                    run_id=run.run_id,
                    move=move,
                    delegation=deleg,
                    axis=axis,
                    model=model,
                    sample=s,
                    status=outcome.status,
                    level=outcome.level,
                    calibrated_level=calibrated(outcome, mapping).level if mapping else None,
                    calibration=self.calibration.id if self.calibration else None,
                    reason=outcome.reason,
                )
            )
            by_unit.setdefault(u, {}).setdefault(model, []).append(outcome)
        out: list[AxisScore] = []
        all_members: list[AxisScore] = []
        for u, per_model in by_unit.items():
            (move, deleg), axis, _ = units[u]
            unit = (move, deleg, axis)
            members = [self._score(run, unit, m, {m: o}) for m, o in per_model.items()]
            all_members += members
            if self.combine == "none":
                out += members
            elif self.combine == "pool":
                out.append(self._score(run, unit, "+".join(per_model), per_model))
            else:
                out.append(combine_members(members, self.combine))
        return out, notes, all_members
