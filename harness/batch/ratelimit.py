"""Per-backend rate limits (requests and tokens per minute), shared by every run of a batch.

A :class:`TokenBucket` is reservation-based: ``reserve(n)`` takes ``n`` at once (the level may go
negative) and returns how long the caller must wait before using them, so concurrent callers queue up in
order without polling, and a call larger than the bucket still goes through (after a longer wait). Token
use is not known before a call: a call reserves an estimate (prompt size + ``max_tokens``) and
:meth:`RateLimiter.settle` books the difference once the usage is known. The clock is injected (tests).

:class:`LimitedModel` wraps any :class:`~harness.llm.base.ChatModel` with a :class:`Gate`: the local gate
holds the limiters in process; the Ray executor's gate asks one shared actor.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.context import approx_tokens
from harness.llm.base import CallUsage, Message, Reply, T

DEFAULT_COMPLETION_TOKENS = 256


class TokenBucket:
    """``per_minute`` units a minute; holds at most ``burst`` (default: ten seconds' worth, at least 1)."""

    def __init__(self, per_minute: float, *, burst: float | None = None, clock: Callable[[], float]) -> None:
        if per_minute <= 0:
            raise ValueError("a rate must be positive")
        self.rate = per_minute / 60.0
        self.capacity = burst if burst is not None else max(1.0, per_minute / 6.0)
        self.level = self.capacity
        self._clock = clock
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._last) * self.rate)
        self._last = now

    def reserve(self, amount: float) -> float:
        """Take ``amount`` now; seconds to wait before it may be used."""
        self._refill()
        wait = 0.0 if self.level >= amount else (amount - self.level) / self.rate
        self.level -= amount
        return wait

    def adjust(self, delta: float) -> None:
        """Book ``delta`` more (or, negative, give back) after the fact."""
        self._refill()
        self.level = min(self.capacity, self.level - delta)


@dataclass
class Counters:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RateLimiter:
    """Requests and tokens per minute for one backend (either may be ``None``: unlimited)."""

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests = TokenBucket(requests_per_minute, clock=clock) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute, clock=clock) if tokens_per_minute else None
        self._lock = threading.Lock()

    def reserve(self, tokens: int) -> float:
        with self._lock:
            waits = [0.0]
            if self.requests is not None:
                waits.append(self.requests.reserve(1))
            if self.tokens is not None:
                waits.append(self.tokens.reserve(tokens))
            return max(waits)

    def settle(self, reserved: int, used: int) -> None:
        with self._lock:
            if self.tokens is not None:
                self.tokens.adjust(used - reserved)


def estimate_tokens(messages: list[Message], max_tokens: int | None) -> int:
    return sum(approx_tokens(m.get("content", "")) for m in messages) + (
        max_tokens or DEFAULT_COMPLETION_TOKENS
    )


class Gate(Protocol):
    """Where a wrapped model asks before a call and reports after it."""

    async def acquire(self, tokens: int) -> None: ...

    def acquire_sync(self, tokens: int) -> None: ...

    def settle(self, reserved: int, usage: CallUsage) -> None: ...


@dataclass
class LocalGate:
    """In-process gate: an optional limiter plus usage counters (the token cap reads them)."""

    limiter: RateLimiter | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    counters: Counters = field(default_factory=Counters)
    on_usage: Callable[[CallUsage], None] | None = None

    async def acquire(self, tokens: int) -> None:
        wait = self.limiter.reserve(tokens) if self.limiter is not None else 0.0
        if wait > 0:
            await self.sleep(wait)

    def acquire_sync(self, tokens: int) -> None:
        wait = self.limiter.reserve(tokens) if self.limiter is not None else 0.0
        if wait > 0:
            time.sleep(wait)

    def settle(self, reserved: int, usage: CallUsage) -> None:
        used = usage.prompt_tokens + usage.completion_tokens
        if self.limiter is not None:
            self.limiter.settle(reserved, used)
        self.counters.calls += 1
        self.counters.prompt_tokens += usage.prompt_tokens
        self.counters.completion_tokens += usage.completion_tokens
        if self.on_usage is not None:
            self.on_usage(usage)


class LimitedModel:
    """A :class:`~harness.llm.base.ChatModel` that passes every call through a :class:`Gate`."""

    def __init__(self, inner: Any, gate: Gate) -> None:
        self.inner = inner
        self.gate = gate
        self.backend: str = inner.backend
        self.model: str = inner.model

    def __getattr__(self, name: str) -> Any:  # base_url, prompt_cap, usage… of the wrapped model
        return getattr(self.inner, name)

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
        reserved = estimate_tokens(messages, max_tokens)
        self.gate.acquire_sync(reserved)
        reply: Reply[Any] = self.inner.complete(
            messages,
            response_model=response_model,
            temperature=temperature,
            seed=seed,
            max_tokens=max_tokens,
            sample=sample,
        )
        self.gate.settle(reserved, reply.usage)
        return reply

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
        reserved = estimate_tokens(messages, max_tokens)
        await self.gate.acquire(reserved)
        reply: Reply[Any] = await self.inner.acomplete(
            messages,
            response_model=response_model,
            temperature=temperature,
            seed=seed,
            max_tokens=max_tokens,
            sample=sample,
        )
        self.gate.settle(reserved, reply.usage)
        return reply


__all__ = [
    "Counters",
    "Gate",
    "LimitedModel",
    "LocalGate",
    "RateLimiter",
    "TokenBucket",
    "estimate_tokens",
]
