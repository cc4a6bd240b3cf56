"""The one retry owner: retry-after honoured on an injected clock, 4xx fail fast, exhaustion is typed."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx2
import openai
import pytest

from harness.llm.base import BackendRequestError, BackendUnavailable
from harness.llm.client import OpenAIChatModel
from harness.llm.retry import RetryPolicy, retry_after_seconds
from harness.testserver import FakeOpenAIServer

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi."}]


def make_model(server: FakeOpenAIServer, clock: Any, make_config: Any, **policy: Any) -> OpenAIChatModel:
    return OpenAIChatModel(
        make_config(server.base_url, "vllm", model="m"),
        retry_policy=RetryPolicy(**policy) if policy else None,
        sleep=clock.sleep,
        async_sleep=clock.async_sleep,
        clock=clock.time,
    )


def test_429_retry_after_7_waits_exactly_7_on_the_injected_clock(
    server: FakeOpenAIServer, clock: Any, make_config: Any
) -> None:
    server.push_script("429:7", "ok")
    model = make_model(server, clock, make_config)
    started = time.monotonic()
    reply = model.complete(MESSAGES)
    assert reply.text
    assert clock.sleeps == [7.0]  # one retry, waited as told
    assert server.chat_count == 2
    assert time.monotonic() - started < 3.0  # no real sleeping
    assert model.usage.calls == 1  # only the successful call produced usage


def test_async_429_retry_after(server: FakeOpenAIServer, clock: Any, make_config: Any) -> None:
    server.push_script("429:7", "ok")
    model = make_model(server, clock, make_config)
    reply = asyncio.run(model.acomplete(MESSAGES))
    assert reply.text
    assert clock.sleeps == [7.0]
    assert server.chat_count == 2


@pytest.mark.parametrize("status", ["400", "401", "403", "404", "422"])
def test_client_errors_fail_fast_with_one_line(
    server: FakeOpenAIServer, clock: Any, make_config: Any, status: str
) -> None:
    server.push_script(status)
    model = make_model(server, clock, make_config)
    with pytest.raises(BackendRequestError) as err:
        model.complete(MESSAGES)
    message = str(err.value)
    assert "\n" not in message
    assert "backend vllm" in message
    assert server.base_url in message
    assert f"HTTP {status}" in message
    assert clock.sleeps == []
    assert server.chat_count == 1


def test_exhaustion_raises_backend_unavailable(
    server: FakeOpenAIServer, clock: Any, make_config: Any
) -> None:
    server.push_script(*["500"] * 10)
    model = make_model(server, clock, make_config, max_attempts=3, initial_backoff_s=1.0, jitter=0.5)
    with pytest.raises(BackendUnavailable) as err:
        model.complete(MESSAGES)
    message = str(err.value)
    assert "backend vllm" in message and server.base_url in message and "HTTP 500" in message
    assert "3 attempt" in message
    assert server.chat_count == 3
    assert len(clock.sleeps) == 2
    assert 0.5 <= clock.sleeps[0] <= 1.5 and 1.0 <= clock.sleeps[1] <= 3.0  # jittered exponential


def test_total_time_bound_stops_before_a_wait_that_would_overrun(
    server: FakeOpenAIServer, clock: Any, make_config: Any
) -> None:
    server.push_script(*["429:100"] * 10)
    model = make_model(server, clock, make_config, max_attempts=10, max_total_s=150.0)
    with pytest.raises(BackendUnavailable):
        model.complete(MESSAGES)
    assert clock.sleeps == [100.0]
    assert server.chat_count == 2


def test_malformed_body_and_503_are_retried(server: FakeOpenAIServer, clock: Any, make_config: Any) -> None:
    server.push_script("malformed", "503:2", "ok")
    model = make_model(server, clock, make_config)
    assert model.complete(MESSAGES).text
    assert server.chat_count == 3
    assert clock.sleeps[1] == 2.0


def test_connection_refused_is_unavailable(clock: Any, make_config: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    model = OpenAIChatModel(
        make_config(url, "ollama", model="m"),
        retry_policy=RetryPolicy(max_attempts=2),
        sleep=clock.sleep,
        clock=clock.time,
    )
    with pytest.raises(BackendUnavailable) as err:
        model.complete(MESSAGES)
    assert "connection error" in str(err.value) and url in str(err.value)
    assert len(clock.sleeps) == 1


def _rate_limit(headers: dict[str, str], status: int = 429) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://x/v1/chat/completions")
    response = httpx2.Response(status, headers=headers, request=request)
    return openai.APIStatusError("limited", response=response, body=None)


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds(_rate_limit({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert retry_after_seconds(_rate_limit({"retry-after": "7"})) == 7.0
    assert (
        retry_after_seconds(_rate_limit({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}), now=1445412480)
        == 10.0
    )
    assert retry_after_seconds(_rate_limit({"retry-after": "soon"})) is None
    assert retry_after_seconds(_rate_limit({"retry-after": "7"}, status=500)) is None


def test_retry_after_is_capped(server: FakeOpenAIServer, clock: Any, make_config: Any) -> None:
    server.push_script("429:100000", "ok")
    model = make_model(server, clock, make_config, max_retry_after_s=60.0)
    model.complete(MESSAGES)
    assert clock.sleeps == [60.0]


def test_sdk_does_not_retry_on_its_own(server: FakeOpenAIServer, clock: Any, make_config: Any) -> None:
    model = make_model(server, clock, make_config)
    assert model._sync_client().max_retries == 0
