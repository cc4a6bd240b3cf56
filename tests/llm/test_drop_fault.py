"""The fake server's ``drop`` fault (issue 15's reliability benchmark): the connection closes with no
answer; the client sees a disconnect and retries it like any other connection error."""

from __future__ import annotations

from typing import Any

import pytest

from harness.llm.base import BackendUnavailable
from harness.llm.client import OpenAIChatModel
from harness.llm.retry import RetryPolicy
from harness.testserver import FakeOpenAIServer, check_fault

MESSAGES = [{"role": "user", "content": "Say hello."}]


def test_drop_is_a_fault_spec() -> None:
    assert check_fault("drop") == "drop"
    with pytest.raises(ValueError, match="bad fault"):
        check_fault("drop:1")


def test_a_dropped_connection_is_retried(make_config: Any) -> None:
    with FakeOpenAIServer(script=["drop", "drop"]) as server:
        model = OpenAIChatModel(
            make_config(server.base_url, "vllm"), retry_policy=RetryPolicy(initial_backoff_s=0.01)
        )
        assert model.complete(MESSAGES).text
        assert server.chat_count == 3 and server.stats()["faults"] == {"drop": 2}


def test_only_drops_exhaust_the_budget_as_unavailable(make_config: Any) -> None:
    with FakeOpenAIServer(fault_rate=1.0, faults=("drop",)) as server:
        model = OpenAIChatModel(
            make_config(server.base_url, "vllm"),
            retry_policy=RetryPolicy(max_attempts=2, initial_backoff_s=0.01),
        )
        with pytest.raises(BackendUnavailable, match="connection error"):
            model.complete(MESSAGES)
        assert server.chat_count == 2
