"""Fixtures for the model layer: cassette configuration, a fake clock, the in-process test server.

Cassettes live in ``tests/cassettes/<test module>/<test>.yaml`` and are matched on method, path and
body — never host or port (the embedded server's port changes every run). Request and response headers
that could carry credentials are scrubbed. Replay is the default (``--record-mode`` none); re-record with
``pytest --record-mode=rewrite -m vcr tests/`` (``make record``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.llm.config import BackendConfig
from harness.llm.profiles import get_profile
from harness.testserver import FakeOpenAIServer

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
SCRUBBED_HEADERS = (
    "authorization",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
)


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() in SCRUBBED_HEADERS:
            del headers[name]
    return response


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(CASSETTES / request.path.stem)


@pytest.fixture
def vcr_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {
        "match_on": ["method", "path", "body"],
        "filter_headers": list(SCRUBBED_HEADERS),
        "filter_query_parameters": ["api_key", "key"],
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "record_mode": request.config.getoption("--record-mode") or "none",
    }


class FakeClock:
    """Time that moves only when slept on: retry tests never really sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def config_for(url: str, profile: str = "vllm", **update: Any) -> BackendConfig:
    """A config pointed at ``url`` with ``profile``'s dialect (built directly, not from the environment)."""
    prof = get_profile(profile)
    values: dict[str, Any] = {
        "profile": profile,
        "base_url": url,
        "model": prof.default_model or "test-model",
        "dialect": prof.dialect,
    }
    values.update(update)
    return BackendConfig(**values)


@pytest.fixture
def make_config() -> Any:
    """``make_config(url, profile="vllm", **fields)`` → :class:`BackendConfig`."""
    return config_for
