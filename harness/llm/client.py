"""``OpenAIChatModel``: the :class:`~harness.llm.base.ChatModel` over any OpenAI-compatible endpoint.

One code path for sync and async: :meth:`OpenAIChatModel._plan` is a generator that yields HTTP requests
and receives their answers; ``complete`` drives it with ``openai.OpenAI``, ``acomplete`` with
``openai.AsyncOpenAI``. It checks the cache, phrases structured output in the profile's dialect,
parses (``json.loads(strict=False)`` first: grammar replies hold raw newlines), validates with pydantic,
re-asks with the error fed back a bounded number of times and then raises :class:`InvalidReply`.
Transport retries belong to :mod:`harness.llm.retry` alone (the SDK gets ``max_retries=0``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Generator
from functools import lru_cache
from typing import Any, Self

import openai
from openai import Omit
from pydantic import BaseModel, ValidationError

from harness.errors import ConfigError
from harness.llm.base import CallUsage, InvalidReply, Message, Reply, RunUsage, T
from harness.llm.cache import CachedReply, ResponseCache, cache_key
from harness.llm.config import BackendConfig
from harness.llm.profiles import Dialect
from harness.llm.retry import RetryPolicy, RetryRunner, one_line

log = logging.getLogger(__name__)

Answer = tuple[str, str, CallUsage]
"""(text, model that answered, usage) of one HTTP call."""

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)

CHAT_PATH = "/chat/completions"
"""Posted through the SDK's low-level ``post`` with the body as built here and the answer as bytes: the
SDK's typed ``chat.completions.create`` re-walks every request against its TypedDicts and builds a
pydantic object per answer, most of the harness's CPU per call (issue 14)."""


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- structured output


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAI strict mode: every object closed (``additionalProperties: false``) with all properties
    required; ``default`` dropped; ``$ref`` without sibling keywords."""

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        node.pop("default", None)
        for unsupported in ("maxLength", "minLength"):  # not accepted by strict mode; length is advisory
            node.pop(unsupported, None)
        if "$ref" in node:
            for key in [k for k in node if k != "$ref"]:
                del node[key]
            return
        props = node.get("properties")
        if node.get("type") == "object" or isinstance(props, dict):
            props = props if isinstance(props, dict) else {}
            node["properties"] = props
            node["required"] = list(props)
            if not isinstance(node.get("additionalProperties"), dict):
                node["additionalProperties"] = False
            for sub in props.values():
                walk(sub)
        for key in ("$defs", "definitions"):
            for sub in (node.get(key) or {}).values():
                walk(sub)
        for key in ("items", "additionalProperties", "not"):
            walk(node.get(key))
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for sub in node.get(key) or []:
                walk(sub)

    out = copy.deepcopy(schema)
    walk(out)
    return out


def schema_name(model: type[BaseModel]) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", model.__name__)[:64] or "reply"


@lru_cache(maxsize=256)
def response_format(dialect: Dialect, model: type[BaseModel]) -> dict[str, Any]:
    """The ``response_format`` request field for ``model`` in ``dialect`` (see :data:`Dialect`); computed
    once per model class and shared by every request: callers must not modify it."""
    schema = model.model_json_schema()
    if dialect == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if dialect == "json_schema_strict":
        body = {"name": schema_name(model), "schema": strict_schema(schema), "strict": True}
        return {"type": "json_schema", "json_schema": body}
    return {"type": "json_schema", "json_schema": {"name": schema_name(model), "schema": schema}}


def parse_reply(text: str, model: type[T]) -> tuple[T | None, str]:
    """``(parsed, "")`` or ``(None, one-line reason)``. Tolerates raw newlines and a code fence."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        data = json.loads(body, strict=False)
    except json.JSONDecodeError as exc:
        start, end = body.find("{"), body.rfind("}")
        try:
            if start < 0 or end <= start:
                raise exc
            data = json.loads(body[start : end + 1], strict=False)
        except json.JSONDecodeError:
            return None, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    try:
        return model.model_validate(data), ""
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()]
        return None, one_line("does not match the schema: " + "; ".join(problems), 600)


def reask_message(reason: str) -> Message:
    return {
        "role": "user",
        "content": f"Your previous reply was not valid: {reason}. "
        "Reply again with only one JSON object that matches the required schema, nothing else.",
    }


# --------------------------------------------------------------------------- the model


class OpenAIChatModel:
    """The ChatModel over an OpenAI-compatible endpoint described by a :class:`BackendConfig`.

    ``usage`` sums every HTTP call (cache hits cost none). ``close()`` also stops an embedded server
    when built by :func:`build_chat_model`; the model is a (async) context manager.
    """

    def __init__(
        self,
        config: BackendConfig,
        cache: ResponseCache | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_close: Callable[[], None] | None = None,
        prompt_cap: int | None = None,
    ) -> None:
        if config.base_url is None:
            raise ConfigError(
                f"backend {config.profile} has no base URL yet: build it with build_chat_model()"
            )
        self.config = config
        self.backend = config.profile
        self.model = config.model
        self.base_url: str = config.base_url
        self.cache = cache
        self.prompt_cap = prompt_cap
        """Prompt token budget when known (embedded: derived from n_ctx)."""
        self.usage = RunUsage()
        self._profile = config.backend_profile
        policy = retry_policy or RetryPolicy(
            max_attempts=config.max_retries + 1, max_total_s=config.max_retry_time
        )
        self._runner = RetryRunner(
            backend=self.backend,
            url=self.base_url,
            policy=policy,
            sleep=sleep,
            async_sleep=async_sleep,
            clock=clock,
        )
        self._on_close = on_close
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )

    # -- clients -------------------------------------------------------------------------------

    def _client_kwargs(self) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        if self._profile.name != "openai":
            # The SDK adds OPENAI_ORG_ID / OPENAI_PROJECT_ID / OPENAI_CUSTOM_HEADERS from the environment;
            # none of them belongs to a non-OpenAI endpoint.
            headers = {"OpenAI-Organization": Omit(), "OpenAI-Project": Omit()}
            for line in os.environ.get("OPENAI_CUSTOM_HEADERS", "").splitlines():
                name = line.partition(":")[0].strip()
                if name and name.lower() != "authorization":
                    headers[name] = Omit()
            headers["Authorization"] = f"Bearer {self.config.api_key.get_secret_value()}"
        return {
            "base_url": self.base_url,
            "api_key": self.config.api_key.get_secret_value(),
            "max_retries": 0,
            "timeout": self.config.timeout,
            "default_headers": headers or None,
        }

    def _sync_client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = openai.OpenAI(**self._client_kwargs())
            return self._client

    def _async_client(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._aclients.get(loop)
            if client is None:
                client = openai.AsyncOpenAI(**self._client_kwargs())
                self._aclients[loop] = client
            return client

    # -- one request -----------------------------------------------------------------------------

    def _request(
        self,
        messages: list[Message],
        response_model: type[BaseModel] | None,
        temperature: float | None,
        seed: int | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        req: dict[str, Any] = {"model": self.model, "messages": messages}
        if temperature is not None:
            req["temperature"] = temperature
        if seed is not None and self._profile.seed:
            req["seed"] = seed
        if max_tokens is not None:
            req["max_completion_tokens" if self._profile.name == "openai" else "max_tokens"] = max_tokens
        if response_model is not None:
            req["response_format"] = response_format(self.config.dialect, response_model)
        return req

    def _answer(self, body: bytes, started: float) -> Answer:
        """Text, model and usage from a chat.completion body, read leniently: a field that is missing
        or of another type reads as empty (an unreadable body raised inside the retried attempt)."""
        latency_ms = (time.perf_counter() - started) * 1000.0
        data = _as_dict(json.loads(body))
        choices = data.get("choices")
        first = _as_dict(choices[0]) if isinstance(choices, list) and choices else {}
        text = _as_dict(first.get("message")).get("content") or ""
        model = data.get("model") or self.model
        used = _as_dict(data.get("usage"))
        usage = CallUsage(
            prompt_tokens=int(used.get("prompt_tokens") or 0),
            completion_tokens=int(used.get("completion_tokens") or 0),
            latency_ms=latency_ms,
            model=model,
        )
        with self._lock:
            self.usage.add(usage)
        return text, model, usage

    def _call(self, req: dict[str, Any]) -> Answer:
        client = self._sync_client()
        started = [0.0]

        def attempt() -> Answer:
            started[0] = time.perf_counter()
            return self._answer(client.post(CHAT_PATH, body=req, cast_to=bytes), started[0])

        return self._runner.call(attempt)

    async def _acall(self, req: dict[str, Any]) -> Answer:
        client = self._async_client()
        started = [0.0]

        async def attempt() -> Answer:
            started[0] = time.perf_counter()
            return self._answer(await client.post(CHAT_PATH, body=req, cast_to=bytes), started[0])

        return await self._runner.acall(attempt)

    # -- the conversation: cache, structured output, re-asks -----------------------------------

    def _cache_request(self, req: dict[str, Any], seed: int | None, sample: int) -> dict[str, Any]:
        endpoint = self.backend if self.backend == "embedded" else f"{self.backend}:{self.base_url}"
        return {**req, "endpoint": endpoint, "seed": seed, "sample": sample, "dialect": self.config.dialect}

    def _plan(
        self,
        messages: list[Message],
        response_model: type[BaseModel] | None,
        temperature: float | None,
        seed: int | None,
        max_tokens: int | None,
        sample: int,
    ) -> Generator[dict[str, Any], Answer, Reply[Any]]:
        first = self._request(list(messages), response_model, temperature, seed, max_tokens)
        key_request = self._cache_request(first, seed, sample)
        key = cache_key(key_request) if self.cache is not None else ""
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None:
            parsed = parse_reply(hit.text, response_model)[0] if response_model else None
            if response_model is None or parsed is not None:
                usage = CallUsage(hit.prompt_tokens, hit.completion_tokens, 0.0, hit.model)
                return Reply(
                    hit.text, parsed, usage, self.backend, hit.model, cached=True, attempts=hit.attempts
                )

        convo = list(messages)
        req = first
        prompt_tokens = completion_tokens = 0
        latency_ms = 0.0
        reason = text = ""
        tries = self.config.reasks + 1 if response_model is not None else 1
        for attempt in range(1, tries + 1):
            if attempt > 1:
                req = self._request(convo, response_model, temperature, seed, max_tokens)
            text, model, usage = yield req
            prompt_tokens += usage.prompt_tokens
            completion_tokens += usage.completion_tokens
            latency_ms += usage.latency_ms
            parsed = None
            if response_model is not None:
                parsed, reason = parse_reply(text, response_model)
                if parsed is None:
                    log.info("backend %s: invalid reply (attempt %d): %s", self.backend, attempt, reason)
                    convo = [*convo, {"role": "assistant", "content": text}, reask_message(reason)]
                    continue
            total = CallUsage(prompt_tokens, completion_tokens, latency_ms, model)
            if self.cache is not None:
                self.cache.put(
                    key, CachedReply(text, model, prompt_tokens, completion_tokens, attempt), key_request
                )
            return Reply(text, parsed, total, self.backend, model, attempts=attempt)
        raise InvalidReply(
            f"backend {self.backend} model {self.model}: "
            f"reply failed validation after {tries} attempt(s): {reason}",
            last_text=text,
        )

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
        plan = self._plan(messages, response_model, temperature, seed, max_tokens, sample)
        try:
            req = next(plan)
            while True:
                req = plan.send(self._call(req))
        except StopIteration as done:
            return done.value

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
        plan = self._plan(messages, response_model, temperature, seed, max_tokens, sample)
        try:
            req = next(plan)
            while True:
                req = plan.send(await self._acall(req))
        except StopIteration as done:
            return done.value

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP clients and stop an embedded server (idempotent)."""
        with self._lock:
            client, self._client = self._client, None
            self._aclients = weakref.WeakKeyDictionary()
            on_close, self._on_close = self._on_close, None
        if client is not None:
            client.close()
        if on_close is not None:
            on_close()

    async def aclose(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            aclient = self._aclients.get(loop)
            if aclient is not None:
                await aclient.close()
        finally:
            self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"OpenAIChatModel(backend={self.backend!r}, model={self.model!r}, base_url={self.base_url!r})"


EMBEDDED_TIMEOUT_S = 900.0


def build_chat_model(
    config: BackendConfig,
    cache: ResponseCache | None = None,
    *,
    log_file: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> OpenAIChatModel:
    """The model for ``config``; for ``embedded`` it first starts the server (logging to ``log_file``,
    e.g. the run folder's ``server.log``) and ``model.close()`` — or leaving ``with model:`` — stops it.
    ``kwargs`` go to :class:`OpenAIChatModel` (retry policy, injected sleep/clock)."""
    if cache is None and config.cache_dir is not None:
        cache = ResponseCache(config.cache_dir)
    if config.profile != "embedded":
        return OpenAIChatModel(config, cache, **kwargs)

    from harness.llm.embedded import EmbeddedServer

    model_path = config.model if config.model.endswith(".gguf") else None
    server = EmbeddedServer(log_file=log_file, model_path=model_path).start()
    try:
        return OpenAIChatModel(
            # the server answers one request at a time: a call may wait behind others, so allow longer
            config.with_endpoint(server.base_url, server.model_name).model_copy(
                update={"timeout": max(config.timeout, EMBEDDED_TIMEOUT_S)}
            ),
            cache,
            on_close=server.stop,
            prompt_cap=server.prompt_cap(),
            **kwargs,
        )
    except BaseException:
        server.stop()
        raise
