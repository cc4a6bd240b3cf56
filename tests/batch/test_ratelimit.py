"""Token buckets and the per-backend limiter, on an injected clock (no real sleeps)."""

from __future__ import annotations

import asyncio

import pytest

from harness.batch.ratelimit import LimitedModel, LocalGate, RateLimiter, TokenBucket, estimate_tokens
from harness.llm.fake import ScriptedModel


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_bursts_then_spaces_requests() -> None:
    clock = Clock()
    bucket = TokenBucket(60, burst=3, clock=clock)  # one a second, three at once
    assert [bucket.reserve(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    # queued callers wait in order, one second apart, without anyone polling
    assert [bucket.reserve(1) for _ in range(3)] == pytest.approx([1.0, 2.0, 3.0])
    clock.now += 10  # refilled to the burst, not beyond
    assert bucket.level == pytest.approx(-3)  # not refilled until asked
    assert bucket.reserve(1) == 0.0
    assert bucket.level == pytest.approx(2.0)


def test_bucket_lets_a_large_request_through_after_a_longer_wait() -> None:
    clock = Clock()
    bucket = TokenBucket(6000, clock=clock)  # 100 tokens/s, burst ten seconds' worth
    assert bucket.capacity == 1000
    assert bucket.reserve(3000) == pytest.approx(20.0)
    clock.now += 20
    assert bucket.reserve(1) == pytest.approx(0.01)


def test_limiter_takes_the_longer_wait_and_settles_actual_tokens() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=600, tokens_per_minute=600, clock=clock)  # 10 req/s, 10 tok/s
    assert limiter.tokens is not None
    assert limiter.reserve(100) == 0.0  # burst: 100 requests, 100 tokens
    assert limiter.reserve(50) == pytest.approx(5.0)  # tokens bind, not requests
    limiter.settle(reserved=50, used=10)  # the call used less: 40 tokens back
    assert limiter.tokens.level == pytest.approx(-10)
    clock.now += 1
    assert limiter.reserve(0) == pytest.approx(0.0)


def test_unlimited_limiter_never_waits() -> None:
    limiter = RateLimiter(None, None, clock=Clock())
    assert all(limiter.reserve(10**6) == 0.0 for _ in range(100))


def test_limited_model_waits_on_the_gate_and_counts_usage() -> None:
    clock = Clock()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    limiter = RateLimiter(requests_per_minute=60, clock=clock)  # burst of 10, then one a second
    gate = LocalGate(limiter, sleep=fake_sleep)
    model = LimitedModel(ScriptedModel(), gate)
    messages = [{"role": "user", "content": "x" * 400}]

    async def calls() -> None:
        for _ in range(12):
            await model.acomplete(messages, max_tokens=20)

    asyncio.run(calls())
    assert slept == pytest.approx([1.0, 1.0])
    assert gate.counters.calls == 12 and gate.counters.tokens > 0
    assert model.model == "scripted" and model.calls  # attributes of the wrapped model show through
    assert estimate_tokens(messages, 20) == int(400 / 3.2) + 1 + 20
