"""Structured replies: parse leniently, validate with pydantic, re-ask with the error, then InvalidReply."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from harness.llm.base import InvalidReply
from harness.llm.client import OpenAIChatModel, parse_reply
from harness.testserver import FakeOpenAIServer

MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "Rate the risk."}]


class Rating(BaseModel):
    level: Literal["low", "medium", "high"]
    reason: str


def scripted(*contents: str) -> Callable[[dict[str, Any]], str | None]:
    queue = list(contents)

    def responder(body: dict[str, Any]) -> str | None:
        return queue.pop(0) if queue else None

    return responder


def model_for(server: FakeOpenAIServer, make_config: Any, **update: Any) -> OpenAIChatModel:
    return OpenAIChatModel(make_config(server.base_url, "llama_cpp", **update))


def test_invalid_json_is_reasked_with_the_error_fed_back(make_config: Any) -> None:
    good = json.dumps({"level": "high", "reason": "tanks at the border"})
    with FakeOpenAIServer(responder=scripted("{not json at all", good)) as server:
        reply = model_for(server, make_config).complete(MESSAGES, response_model=Rating)
        assert isinstance(reply.parsed, Rating) and reply.parsed.level == "high"
        assert reply.attempts == 2
        assert server.chat_count == 2
        second = server.requests[1]["messages"]
        assert second[: len(MESSAGES)] == MESSAGES
        assert second[-2] == {"role": "assistant", "content": "{not json at all"}
        assert second[-1]["role"] == "user" and "not valid JSON" in second[-1]["content"]
        # the schema travels with the re-ask too
        assert server.requests[1]["response_format"]["type"] == "json_object"


def test_schema_violation_names_the_field(make_config: Any) -> None:
    bad = json.dumps({"level": "apocalyptic", "reason": "x"})
    good = json.dumps({"level": "low", "reason": "calm"})
    with FakeOpenAIServer(responder=scripted(bad, good)) as server:
        reply = model_for(server, make_config).complete(MESSAGES, response_model=Rating)
        assert reply.parsed is not None and reply.parsed.level == "low"
        assert "level" in server.requests[1]["messages"][-1]["content"]


def test_persistently_invalid_raises_invalid_reply_after_bounded_reasks(make_config: Any) -> None:
    with FakeOpenAIServer(responder=lambda body: "still { not json") as server:
        model = model_for(server, make_config, reasks=2)
        with pytest.raises(InvalidReply) as err:
            model.complete(MESSAGES, response_model=Rating)
        assert server.chat_count == 3
        assert err.value.last_text == "still { not json"
        assert "3 attempt" in str(err.value) and "\n" not in str(err.value)
        assert model.usage.calls == 3  # every call's tokens are still accounted


def test_async_reask(make_config: Any) -> None:
    good = json.dumps({"level": "medium", "reason": "unclear"})
    with FakeOpenAIServer(responder=scripted("nope", good)) as server:
        reply = asyncio.run(model_for(server, make_config).acomplete(MESSAGES, response_model=Rating))
        assert reply.parsed is not None and reply.attempts == 2


def test_no_reasks_configured(make_config: Any) -> None:
    with FakeOpenAIServer(responder=lambda body: "nope") as server:
        with pytest.raises(InvalidReply):
            model_for(server, make_config, reasks=0).complete(MESSAGES, response_model=Rating)
        assert server.chat_count == 1


def test_raw_newlines_and_fences_parse_without_reask() -> None:
    # grammar-constrained replies often hold raw newlines inside strings
    parsed, reason = parse_reply('{"level": "low", "reason": "line one\nline two"}', Rating)
    assert parsed is not None and parsed.reason == "line one\nline two" and reason == ""
    fenced, _ = parse_reply('```json\n{"level": "high", "reason": "r"}\n```', Rating)
    assert fenced is not None and fenced.level == "high"
    chatty, _ = parse_reply('Sure! {"level": "medium", "reason": "r"} Hope that helps.', Rating)
    assert chatty is not None
    missing, why = parse_reply('{"level": "low"}', Rating)
    assert missing is None and "reason" in why
