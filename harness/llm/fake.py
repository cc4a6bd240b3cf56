"""A scripted fake model for logic tests: no network, deterministic, records every prompt it is sent.

``ScriptedModel(responder)`` calls ``responder(call)`` for each request; the responder returns text, a
dict or a pydantic object. With no responder it answers plain calls with a short deterministic sentence
and structured calls with a valid instance built from the response model's JSON schema (a seeded choice
for every enum, so levels vary with the seed but replay exactly).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from harness.llm.base import CallUsage, InvalidReply, Message, Reply, T


@dataclass
class FakeCall:
    messages: list[Message]
    response_model: type[BaseModel] | None
    temperature: float | None
    seed: int | None
    max_tokens: int | None
    sample: int

    @property
    def prompt_text(self) -> str:
        return "\n".join(m["content"] for m in self.messages)


ScriptedReply = str | dict[str, Any] | BaseModel
"""What a responder returns: text, a dict for a structured call, or a model instance."""
Responder = Callable[[FakeCall], ScriptedReply]


def approx_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer (≈4 characters a token)."""
    return max(1, (len(text) + 3) // 4)


def _rng_for(call: FakeCall) -> random.Random:
    digest = hashlib.sha256(
        json.dumps([call.messages, call.seed, call.sample], sort_keys=True).encode()
    ).hexdigest()
    return random.Random(int(digest[:16], 16))


def instance_from_schema(
    schema: dict[str, Any], rng: random.Random, defs: dict[str, Any] | None = None
) -> Any:
    """Build a JSON value that satisfies a (pydantic-generated) JSON schema."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return instance_from_schema(defs[schema["$ref"].split("/")[-1]], rng, defs)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return instance_from_schema(options[0], rng, defs)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: instance_from_schema(sub, rng, defs) for name, sub in props.items()}
    if kind == "array":
        n = max(1, schema.get("minItems", 1))
        return [instance_from_schema(schema.get("items", {}), rng, defs) for _ in range(n)]
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    title = schema.get("title", "text")
    return f"{title}: scripted answer {rng.randint(100, 999)}"


def default_responder(call: FakeCall) -> ScriptedReply:
    rng = _rng_for(call)
    if call.response_model is not None:
        return instance_from_schema(call.response_model.model_json_schema(), rng)
    last = call.messages[-1]["content"] if call.messages else ""
    return f"Scripted reply {rng.randint(1000, 9999)} to a prompt of {approx_tokens(last)} tokens."


class ScriptedModel:
    """Implements :class:`harness.llm.base.ChatModel` from a responder function."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        model: str = "scripted",
        latency_s: float = 0.0,
    ) -> None:
        self.backend = "scripted"
        self.model = model
        self.responder = responder or default_responder
        self.latency_s = latency_s
        self.calls: list[FakeCall] = []
        self._lock = threading.Lock()

    def _answer(self, call: FakeCall) -> Reply[Any]:
        with self._lock:
            self.calls.append(call)
        out = self.responder(call)
        parsed: BaseModel | None = None
        if call.response_model is not None:
            try:
                if isinstance(out, BaseModel):
                    parsed = call.response_model.model_validate(out.model_dump())
                elif isinstance(out, dict):
                    parsed = call.response_model.model_validate(out)
                else:
                    parsed = call.response_model.model_validate(json.loads(out, strict=False))
            except (ValidationError, ValueError) as exc:
                raise InvalidReply(f"scripted reply failed validation: {exc}", last_text=str(out)) from exc
            text = parsed.model_dump_json()
        else:
            text = (
                out
                if isinstance(out, str)
                else json.dumps(out if isinstance(out, dict) else out.model_dump())
            )
        usage = CallUsage(
            prompt_tokens=approx_tokens(call.prompt_text),
            completion_tokens=approx_tokens(text),
            latency_ms=self.latency_s * 1000.0,
            model=self.model,
        )
        return Reply(text=text, parsed=parsed, usage=usage, backend=self.backend, model=self.model)

    def complete(
        self,
        messages: list[Message],
        *,
        response_model: type[T] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        sample: int = 0,
    ) -> Reply[Any]:
        call = FakeCall(list(messages), response_model, temperature, seed, max_tokens, sample)
        if self.latency_s:
            time.sleep(self.latency_s)
        return self._answer(call)

    async def acomplete(
        self,
        messages: list[Message],
        *,
        response_model: type[T] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        sample: int = 0,
    ) -> Reply[Any]:
        call = FakeCall(list(messages), response_model, temperature, seed, max_tokens, sample)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return self._answer(call)
