"""Recorded HTTP exchanges (vcrpy), replayed by default with no server running.

Two sources, one per structured-output dialect:

- ``json_object`` + ``schema``: recorded from the REAL embedded server (llama-cpp-python with
  SmolLM2-135M-Instruct);
- ``json_schema`` (plain and strict): recorded from the project's own test server,
  :mod:`harness.testserver`, because llama-cpp-python's server cannot answer ``json_schema`` (it replies
  HTTP 500) and no other real server is available offline.

Cassettes are matched on method, path and body (not host or port: the embedded port changes), and use the
fixed messages below, not the shipped prompts. Re-record with ``make record``, i.e.
``.venv/bin/pytest --record-mode=rewrite -m vcr tests/``: when recording, the fixtures start the
servers; when replaying, the client points at an address nothing listens on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, SecretStr

from harness.llm.client import OpenAIChatModel
from harness.llm.retry import RetryPolicy
from harness.testserver import FakeOpenAIServer

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
NOWHERE = "http://127.0.0.1:9/v1"  # replay never connects
FAKE_KEY = "sk-cassette-test-NOT-A-REAL-KEY-0000000000"

SYSTEM = {"role": "system", "content": "You are a terse assistant. Answer in one short sentence."}
PLAIN = [SYSTEM, {"role": "user", "content": "Name one primary colour."}]
STRUCTURED = [
    {"role": "system", "content": "You answer with a JSON object only."},
    {"role": "user", "content": "Give the capital city of France, its country and your confidence."},
]


class Capital(BaseModel):
    city: str
    country: str
    confidence: Literal["low", "medium", "high"]


def recording(request: pytest.FixtureRequest) -> bool:
    return (request.config.getoption("--record-mode") or "none") != "none"


@pytest.fixture(scope="module")
def embedded_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not recording(request):
        yield NOWHERE
        return
    from harness.llm.embedded import EmbeddedServer

    with EmbeddedServer(log_file=tmp_path_factory.mktemp("embedded") / "server.log") as server:
        yield server.base_url


@pytest.fixture(scope="module")
def testserver_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if not recording(request):
        yield NOWHERE
        return
    with FakeOpenAIServer(model="fake-model") as server:
        yield server.base_url


def make(make_config: Any, url: str, profile: str, **update: Any) -> OpenAIChatModel:
    # one attempt: a cassette mismatch must fail at once, not after backoff
    return OpenAIChatModel(make_config(url, profile, **update), retry_policy=RetryPolicy(max_attempts=1))


def check_played(vcr: Any, request: pytest.FixtureRequest, calls: int) -> None:
    if recording(request):
        assert len(vcr) == calls
    else:
        assert vcr.play_count == calls and vcr.all_played


@pytest.mark.vcr
def test_embedded_plain(
    vcr: Any, request: pytest.FixtureRequest, embedded_url: str, make_config: Any
) -> None:
    model = make(make_config, embedded_url, "embedded", model="SmolLM2-135M-Instruct")
    reply = model.complete(PLAIN, temperature=0.0, seed=0, max_tokens=24)
    assert reply.text.strip()
    assert reply.backend == "embedded" and reply.model == "SmolLM2-135M-Instruct"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    check_played(vcr, request, 1)


@pytest.mark.vcr
def test_embedded_structured_json_object(
    vcr: Any, request: pytest.FixtureRequest, embedded_url: str, make_config: Any
) -> None:
    """json_object + schema: the dialect llama-cpp-python's server understands (grammar-constrained)."""
    model = make(make_config, embedded_url, "embedded", model="SmolLM2-135M-Instruct")
    reply = model.complete(STRUCTURED, response_model=Capital, temperature=0.0, seed=0, max_tokens=80)
    assert isinstance(reply.parsed, Capital)
    assert reply.attempts == 1
    body = vcr.requests[0].body
    assert b'"type":"json_object"' in body and b'"schema"' in body
    check_played(vcr, request, 1)


@pytest.mark.vcr
def test_testserver_plain(
    vcr: Any, request: pytest.FixtureRequest, testserver_url: str, make_config: Any
) -> None:
    model = make(make_config, testserver_url, "llama_server", model="fake-model")
    reply = model.complete(PLAIN, temperature=0.0, seed=0, max_tokens=24)
    assert reply.text.startswith("Fake reply")
    check_played(vcr, request, 1)


@pytest.mark.vcr
def test_testserver_structured_json_schema(
    vcr: Any, request: pytest.FixtureRequest, testserver_url: str, make_config: Any
) -> None:
    """json_schema (non-strict), as llama.cpp's C++ server, Ollama and vLLM take it. Recorded from
    harness.testserver: llama-cpp-python's server cannot answer json_schema (HTTP 500)."""
    model = make(make_config, testserver_url, "vllm", model="fake-model")
    reply = model.complete(STRUCTURED, response_model=Capital, temperature=0.0, seed=0, max_tokens=80)
    assert isinstance(reply.parsed, Capital)
    assert b'"type":"json_schema"' in vcr.requests[0].body
    check_played(vcr, request, 1)


@pytest.mark.vcr
def test_testserver_structured_json_schema_strict(
    vcr: Any, request: pytest.FixtureRequest, testserver_url: str, make_config: Any
) -> None:
    """Strict json_schema as the OpenAI API takes it, sent with a key-like (fake) key that must never reach
    the cassette. Recorded from harness.testserver, which checks strictness like OpenAI does."""
    model = make(make_config, testserver_url, "openai", model="fake-model", api_key=SecretStr(FAKE_KEY))
    reply = model.complete(STRUCTURED, response_model=Capital, temperature=0.0, seed=0, max_tokens=80)
    assert isinstance(reply.parsed, Capital)
    assert b'"strict":true' in vcr.requests[0].body
    check_played(vcr, request, 1)


KEY_LIKE = re.compile(
    r"(sk-[A-Za-z0-9_-]{8,}|Bearer\s+\S+|authorization|x-api-key|openai-organization|set-cookie)", re.I
)


def test_no_cassette_holds_a_key_or_an_authorization_header() -> None:
    files = sorted(CASSETTES.rglob("*.yaml"))
    assert files, "no cassettes recorded"
    expected = {f"{name}.yaml" for name in (
        "test_embedded_plain",
        "test_embedded_structured_json_object",
        "test_testserver_plain",
        "test_testserver_structured_json_schema",
        "test_testserver_structured_json_schema_strict",
    )}  # fmt: skip
    assert expected <= {f.name for f in (CASSETTES / "test_cassettes").glob("*.yaml")}
    for path in files:
        text = path.read_text(encoding="utf-8")
        found = KEY_LIKE.search(text)
        assert found is None, f"{path}: {found.group(0) if found else ''}"
        assert FAKE_KEY not in text and "not-needed" not in text
