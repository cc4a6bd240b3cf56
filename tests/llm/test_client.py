"""OpenAIChatModel against the project's fake server, the scripted fake path, the test server itself and
the `backends` / `doctor` commands."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from typing import Any, Literal

import pytest
import typer
from pydantic import BaseModel, Field, SecretStr
from typer.testing import CliRunner

from harness.cli import llm_cmds
from harness.errors import ConfigError
from harness.llm.base import ChatModel
from harness.llm.client import OpenAIChatModel, build_chat_model, response_format, strict_schema
from harness.llm.fake import ScriptedModel
from harness.testserver import FakeOpenAIServer, _strict_problem, check_fault

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Describe the weather."}]


class Stance(BaseModel):
    axis: Literal["escalate", "hold", "deescalate"]
    note: str = Field(description="one sentence")


class Card(BaseModel):
    delegation: str
    stance: Stance
    tags: list[str]
    confidence: int = 3
    comment: str | None = None


# -- the fake path ---------------------------------------------------------------------------------


def test_scripted_model_is_the_fake_path() -> None:
    fake = ScriptedModel()
    assert isinstance(fake, ChatModel)
    reply = fake.complete(MESSAGES, response_model=Card, seed=4)
    assert isinstance(reply.parsed, Card)
    assert fake.calls[0].seed == 4
    assert asyncio.run(fake.acomplete(MESSAGES)).text


# -- the real client on the fake server ------------------------------------------------------------


def test_plain_completion(server: FakeOpenAIServer, make_config: Any) -> None:
    model = OpenAIChatModel(make_config(server.base_url, "vllm", model="served-model"))
    assert isinstance(model, ChatModel)
    reply = model.complete(MESSAGES, temperature=0.2, seed=7, max_tokens=50)
    assert reply.text.startswith("Fake reply")
    assert reply.parsed is None
    assert (reply.backend, reply.model) == ("vllm", "served-model")
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.latency_ms > 0
    body = server.requests[0]
    assert body["model"] == "served-model"
    assert (body["temperature"], body["seed"], body["max_tokens"]) == (0.2, 7, 50)
    assert "response_format" not in body
    assert model.usage.calls == 1 and model.usage.prompt_tokens == reply.usage.prompt_tokens


@pytest.mark.parametrize(
    ("profile", "expected_type"),
    [("llama_cpp", "json_object"), ("vllm", "json_schema"), ("openai", "json_schema")],
)
def test_structured_request_per_dialect(
    server: FakeOpenAIServer, make_config: Any, profile: str, expected_type: str
) -> None:
    model = OpenAIChatModel(make_config(server.base_url, profile))
    reply = model.complete(MESSAGES, response_model=Card, seed=1)
    assert isinstance(reply.parsed, Card)
    fmt = server.requests[0]["response_format"]
    assert fmt["type"] == expected_type
    if profile == "llama_cpp":
        assert fmt["schema"] == Card.model_json_schema()
    elif profile == "vllm":
        assert fmt["json_schema"]["name"] == "Card" and "strict" not in fmt["json_schema"]
    else:
        assert fmt["json_schema"]["strict"] is True
        assert _strict_problem(fmt["json_schema"]["schema"]) is None
        assert "max_completion_tokens" not in server.requests[0]  # none asked for


def test_openai_profile_uses_max_completion_tokens(server: FakeOpenAIServer, make_config: Any) -> None:
    OpenAIChatModel(make_config(server.base_url, "openai")).complete(MESSAGES, max_tokens=9)
    assert server.requests[0]["max_completion_tokens"] == 9 and "max_tokens" not in server.requests[0]


def test_strict_schema_closes_every_object_and_requires_all() -> None:
    raw = Card.model_json_schema()
    assert _strict_problem(raw) is not None  # pydantic's own schema is not strict
    strict = strict_schema(raw)
    assert _strict_problem(strict) is None
    assert strict["required"] == ["delegation", "stance", "tags", "confidence", "comment"]
    assert strict["$defs"]["Stance"]["additionalProperties"] is False
    assert "default" not in json.dumps(strict["properties"]["confidence"])
    assert raw == Card.model_json_schema()  # not mutated
    fmt = response_format("json_schema_strict", Card)
    assert fmt["json_schema"]["name"] == "Card"


def test_the_server_rejects_non_strict_schemas_like_openai(
    server: FakeOpenAIServer, make_config: Any
) -> None:
    from harness.llm.base import BackendRequestError

    model = OpenAIChatModel(make_config(server.base_url, "openai"))
    bad = {
        "type": "json_schema",
        "json_schema": {"name": "Card", "schema": Card.model_json_schema(), "strict": True},
    }
    with pytest.raises(BackendRequestError, match="additionalProperties"):
        model._call({"model": "m", "messages": MESSAGES, "response_format": bad})


def test_no_openai_env_leaks_to_other_endpoints(
    server: FakeOpenAIServer, make_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-never-leave-0000000000")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-leak")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-leak")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "X-Leak: 1\nAuthorization: Bearer sk-env-header")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # must not redirect the client
    OpenAIChatModel(make_config(server.base_url, "vllm")).complete(MESSAGES)
    headers = server.request_headers[0]
    assert headers["authorization"] == "Bearer not-needed"
    for name in ("openai-organization", "openai-project", "x-leak"):
        assert name not in headers


def test_key_goes_to_its_own_endpoint(server: FakeOpenAIServer, make_config: Any) -> None:
    cfg = make_config(server.base_url, "vllm", api_key=SecretStr("vllm-secret"))
    OpenAIChatModel(cfg).complete(MESSAGES)
    assert server.request_headers[0]["authorization"] == "Bearer vllm-secret"
    assert "vllm-secret" not in repr(OpenAIChatModel(cfg))


def test_async_calls_run_concurrently(make_config: Any) -> None:
    with FakeOpenAIServer(latency_ms=300) as server:
        model = OpenAIChatModel(make_config(server.base_url, "vllm"))

        async def many() -> list[Any]:
            return await asyncio.gather(*(model.acomplete(MESSAGES, sample=i) for i in range(8)))

        started = time.monotonic()
        replies = asyncio.run(many())
        elapsed = time.monotonic() - started
        assert len(replies) == 8 and server.chat_count == 8
        assert elapsed < 1.5, elapsed  # 8 x 300 ms serially would be 2.4 s
        # a second event loop gets its own async client
        assert asyncio.run(model.acomplete(MESSAGES)).text
        assert model.usage.calls == 9


def test_close_and_context_manager(server: FakeOpenAIServer, make_config: Any) -> None:
    stopped: list[bool] = []
    with OpenAIChatModel(
        make_config(server.base_url, "vllm"), on_close=lambda: stopped.append(True)
    ) as model:
        model.complete(MESSAGES)
    model.close()
    assert stopped == [True]


def test_build_chat_model_for_a_remote_profile(
    server: FakeOpenAIServer, make_config: Any, tmp_path: Any
) -> None:
    model = build_chat_model(make_config(server.base_url, "ollama", cache_dir=tmp_path / "c"))
    assert model.cache is not None and model.base_url == server.base_url
    model.complete(MESSAGES)
    model.complete(MESSAGES)
    assert server.chat_count == 1


def test_unstarted_embedded_config_is_refused(make_config: Any) -> None:
    with pytest.raises(ConfigError, match="build_chat_model"):
        OpenAIChatModel(make_config(None, "embedded"))


# -- the test server ---------------------------------------------------------------------------------


def test_server_is_deterministic_and_honours_fault_rate(make_config: Any) -> None:
    with FakeOpenAIServer(fault_rate=1.0, faults=("badjson",)) as server:
        body = {"model": "m", "messages": MESSAGES, "seed": 1}
        assert (
            server.answer(body)["choices"][0]["message"]["content"]
            == server.answer(body)["choices"][0]["message"]["content"]
        )
        model = OpenAIChatModel(make_config(server.base_url, "vllm", reasks=1))
        from harness.llm.base import InvalidReply

        with pytest.raises(InvalidReply):
            model.complete(MESSAGES, response_model=Stance)
        assert server.stats()["faults"] == {"badjson": 2}


def test_server_as_a_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.testserver", "--port", "0", "--latency-ms", "5", "--script", "500"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:")
        base = line.split()[1]
        with urllib.request.urlopen(f"{base}/models", timeout=5) as resp:
            assert json.load(resp)["data"][0]["id"] == "fake-model"
        stats_url = base.removesuffix("/v1") + "/stats"
        with urllib.request.urlopen(stats_url, timeout=5) as resp:
            assert json.load(resp)["script_left"] == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


# -- CLI ---------------------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    llm_cmds.register(app)
    return app


def test_backends_command_marks_the_active_profile_and_never_prints_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_BACKEND", "vllm")
    monkeypatch.setenv("HARNESS_MODEL", "qwen")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-printed-never-000000000")
    result = CliRunner().invoke(_app(), ["backends"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "active: vllm" in result.output
    assert "OPENAI_API_KEY (set)" in result.output
    assert "sk-printed-never" not in result.output


def test_doctor_against_the_test_server(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        _app(), ["doctor", "--backend", "llama_server", "--base-url", server.base_url], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "held" in result.output and server.base_url in result.output
    assert server.chat_count == 2


def test_bad_fault_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="bad fault"):
        FakeOpenAIServer(script=["teapot"])
    server = FakeOpenAIServer()
    with pytest.raises(ValueError, match="bad fault"):
        server.push_script("429:soon")
    assert check_fault("hang:0.1") == "hang:0.1"


def test_client_timeout_on_a_hanging_server(make_config: Any) -> None:
    from harness.llm.base import BackendUnavailable
    from harness.llm.retry import RetryPolicy

    with FakeOpenAIServer(script=["hang:1"]) as server:
        model = OpenAIChatModel(
            make_config(server.base_url, "vllm", timeout=0.2), retry_policy=RetryPolicy(max_attempts=1)
        )
        with pytest.raises(BackendUnavailable, match="timed out"):
            model.complete(MESSAGES)
