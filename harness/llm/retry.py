"""The ONE owner of transport retries (docs/pitfalls.md): tenacity around each HTTP call, the SDK's own
``max_retries=0``.

- retried: connection errors, timeouts, HTTP 408/409/429 and 5xx, an unreadable response body;
- waits: the server's ``retry-after-ms`` / ``retry-after`` when a 429/503 sends one (capped), else
  jittered exponential backoff; bounded by attempts and by total time;
- fail fast: any other 4xx (400/401/403/404/422…) → :class:`BackendRequestError`;
- budget spent → :class:`BackendUnavailable`. Both messages are one line naming backend, URL and cause.

Sleep and clock are injectable, so tests run on a fake clock without sleeping.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import openai
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception

from harness.llm.base import BackendRequestError, BackendUnavailable

log = logging.getLogger(__name__)

R = TypeVar("R")

RETRY_STATUS = frozenset({408, 409, 429})
RETRY_AFTER_STATUS = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    """Attempts in all (first try included)."""
    max_total_s: float = 300.0
    """Never start a wait that would end past this many seconds after the first attempt."""
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    jitter: float = 0.5
    """Backoff is multiplied by a uniform factor in [1 - jitter, 1 + jitter]."""
    max_retry_after_s: float = 120.0
    """A server's retry-after is honoured up to this many seconds."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)


def one_line(text: str, limit: int = 240) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRY_STATUS or exc.status_code >= 500
    # connection errors and timeouts (APITimeoutError is an APIConnectionError), broken response bodies
    return isinstance(
        exc, openai.APIConnectionError | openai.APIResponseValidationError | json.JSONDecodeError
    )


def retry_after_seconds(exc: BaseException, *, now: float | None = None) -> float | None:
    """The wait a 429/503 asked for (``retry-after-ms``, then ``retry-after`` seconds or HTTP date)."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in RETRY_AFTER_STATUS:
        return None
    headers = exc.response.headers
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def describe(exc: BaseException) -> str:
    """A short cause: ``HTTP 401: Incorrect API key``, ``connection error: ...``."""
    if isinstance(exc, openai.APIStatusError):
        detail = exc.message
        body = exc.body
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict) and inner.get("message"):
                detail = str(inner["message"])
            elif isinstance(body.get("detail"), str):
                detail = body["detail"]
        return one_line(f"HTTP {exc.status_code}: {detail}")
    if isinstance(exc, openai.APITimeoutError):
        return "request timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return one_line(f"connection error: {cause}")
    return one_line(f"{type(exc).__name__}: {exc}")


class _Budget:
    """Wait and stop decisions on an injectable clock (tenacity's own timing uses time.monotonic)."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self.clock = clock
        self.start = clock()

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        told = retry_after_seconds(exc) if exc is not None else None
        if told is not None:
            return min(told, self.policy.max_retry_after_s)
        p = self.policy
        base = min(p.max_backoff_s, p.initial_backoff_s * 2 ** (state.attempt_number - 1))
        return base * p.rng.uniform(1 - p.jitter, 1 + p.jitter)

    def stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.policy.max_attempts:
            return True
        return self.clock() - self.start + state.upcoming_sleep > self.policy.max_total_s


class RetryRunner:
    """Runs one request under the retry policy; errors come out as the model layer's own types."""

    def __init__(
        self,
        *,
        backend: str,
        url: str,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.url = url
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.async_sleep = async_sleep
        self.clock = clock

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "backend %s at %s: %s; retry %d in %.1fs",
            self.backend,
            self.url,
            describe(exc) if exc else "?",
            state.attempt_number,
            state.upcoming_sleep,
        )

    def _translate(self, exc: BaseException, attempts: int) -> Exception:
        where = f"backend {self.backend} at {self.url}"
        if is_retryable(exc):
            return BackendUnavailable(f"{where} unavailable after {attempts} attempt(s): {describe(exc)}")
        return BackendRequestError(f"{where} refused the request: {describe(exc)}")

    def _retrying_kwargs(self) -> dict[str, object]:
        budget = _Budget(self.policy, self.clock)
        return {
            "retry": retry_if_exception(is_retryable),
            "wait": budget.wait,
            "stop": budget.stop,
            "before_sleep": self._before_sleep,
            "reraise": True,
        }

    def call(self, fn: Callable[[], R]) -> R:
        retrying = Retrying(sleep=self.sleep, **self._retrying_kwargs())  # type: ignore[arg-type]
        try:
            return retrying(fn)
        except openai.OpenAIError as exc:
            raise self._translate(exc, retrying.statistics.get("attempt_number", 1)) from exc
        except json.JSONDecodeError as exc:
            raise self._translate(exc, retrying.statistics.get("attempt_number", 1)) from exc

    async def acall(self, fn: Callable[[], Awaitable[R]]) -> R:
        retrying = AsyncRetrying(sleep=self.async_sleep, **self._retrying_kwargs())  # type: ignore[arg-type]
        try:
            return await retrying(fn)
        except openai.OpenAIError as exc:
            raise self._translate(exc, retrying.statistics.get("attempt_number", 1)) from exc
        except json.JSONDecodeError as exc:
            raise self._translate(exc, retrying.statistics.get("attempt_number", 1)) from exc
