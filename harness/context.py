"""The run context handed to every node (LangGraph ``context=``; not checkpointed, passed again on resume)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from harness import keys
from harness.llm.base import ChatModel, Message, Reply
from harness.loaders import Bundle
from harness.prompts import Prompts
from harness.schema import ErrorEvent, Move, Persona, Sampling, Scenario, Usage
from harness.transcript import TranscriptWriter

log = logging.getLogger(__name__)

ProgressHook = Callable[[str, dict[str, Any]], None]


def approx_tokens(text: str) -> int:
    """A conservative token estimate (no tokenizer download): ~3.2 characters a token."""
    return int(len(text) / 3.2) + 1


@dataclass
class Options:
    """Knobs of one run that are not part of the scenario."""

    max_concurrency: int = 8
    prompt_cap: int = 6000  # tokens per call (prompt), see views.fit
    turn_tokens: int = 160  # max_tokens for a spoken turn
    card_tokens: int = 700  # max_tokens for a position card
    narrate: bool = False  # LLM narration by Control after the scripted consequences
    sentences: str = "two to four"
    persona_detail: PersonaDetail = "full"  # how much of a persona a prompt carries (views.persona_view)


EMBEDDED_TURN_TOKENS = 64
EMBEDDED_PROMPT_CAP = 5200
EMBEDDED_SENTENCES = "one or two"
PersonaDetail = Literal["full", "brief"]


def options_for(
    profile: str,
    *,
    max_concurrency: int = 8,
    prompt_cap: int | None = None,
    model_cap: int | None = None,
    narrate: bool = False,
    turn_tokens: int | None = None,
    card_tokens: int | None = None,
) -> Options:
    """Run options suited to a backend profile; explicit values win over every default.

    The one place run options are made (``harness run``, resume, fork and every batch run call it). The
    embedded llama.cpp server answers one request at a time (more in flight only queue and time out),
    and on a small CPU prompt processing dominates (~200 tokens/s on 2 cores): embedded runs keep prompts
    and turns short so the default scenario takes minutes, not an hour.
    """
    opts = Options(max_concurrency=max_concurrency, narrate=narrate)
    if profile == "embedded":
        opts.max_concurrency = 1
        opts.turn_tokens = EMBEDDED_TURN_TOKENS
        opts.persona_detail = "brief"
        opts.sentences = EMBEDDED_SENTENCES
        model_cap = min(model_cap or EMBEDDED_PROMPT_CAP, EMBEDDED_PROMPT_CAP)
    if prompt_cap is not None:
        opts.prompt_cap = prompt_cap
    elif model_cap is not None:
        opts.prompt_cap = min(opts.prompt_cap, int(model_cap))
    if turn_tokens is not None:
        opts.turn_tokens = turn_tokens
    if card_tokens is not None:
        opts.card_tokens = card_tokens
    return opts


@dataclass
class RunContext:
    run_id: str
    bundle: Bundle
    writer: TranscriptWriter
    prompts: Prompts
    model: ChatModel
    sampling: Sampling = field(default_factory=Sampling)
    model_for: dict[str, ChatModel] = field(default_factory=dict)
    human_seats: frozenset[str] = frozenset()
    options: Options = field(default_factory=Options)
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # move id -> {inject|consequences}
    progress: ProgressHook | None = None
    _limiter: asyncio.Semaphore | None = None

    # -- data views ----------------------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        return self.bundle.scenario

    def move(self, move_id: str) -> Move:
        move = self.scenario.move(move_id)
        patch = self.overrides.get(move_id)
        return move.model_copy(update=patch) if patch else move

    def persona(self, persona_id: str) -> Persona:
        return self.bundle.personas[persona_id]

    # -- model calls ---------------------------------------------------------------------------
    def model_of(self, delegation: str | None) -> ChatModel:
        if delegation is not None and delegation in self.model_for:
            return self.model_for[delegation]
        return self.model

    def call_seed(self, key: str) -> int | None:
        """A per-call seed derived from the run seed and the event key (deterministic, distinct)."""
        if self.sampling.seed is None:
            return None
        digest = hashlib.sha256(f"{self.sampling.seed}:{key}".encode()).hexdigest()
        return int(digest[:8], 16)

    async def call(
        self,
        key: str,
        delegation: str | None,
        messages: list[Message],
        *,
        response_model: type[BaseModel] | None = None,
        max_tokens: int | None = None,
    ) -> Reply[Any]:
        if self._limiter is None:
            self._limiter = asyncio.Semaphore(max(1, self.options.max_concurrency))
        model = self.model_of(delegation)
        if response_model is None and self.sampling.max_tokens:
            max_tokens = self.sampling.max_tokens  # --max-tokens caps spoken turns; cards keep their budget
        self.emit("call_start", key=key)
        # every turn this call could read (its prompt was rendered from them) is durable before it starts
        await self.writer.adurable()
        async with self._limiter:
            reply = await model.acomplete(
                messages,
                response_model=response_model,
                temperature=self.sampling.temperature,
                seed=self.call_seed(key),
                max_tokens=max_tokens,
            )
        self.emit("call_end", key=key, usage=reply.usage)
        return reply

    @staticmethod
    def usage_of(reply: Reply[Any]) -> Usage:
        u = reply.usage
        return Usage(
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            latency_ms=round(u.latency_ms, 1),
            model=u.model or reply.model,
        )

    def record_error(self, key: str, move: str | None, where: str, kind: str, message: str) -> None:
        log.warning("%s: %s: %s", where, kind, message)
        self.writer.write(ErrorEvent(key=keys.error(key), move=move, where=where, kind=kind, message=message))
        self.emit("error", key=key, kind=kind)

    def emit(self, what: str, **info: Any) -> None:
        if self.progress is not None:
            try:
                self.progress(what, info)
            except Exception:  # a display problem must never stop a run
                log.debug("progress hook failed", exc_info=True)
