"""The response cache: a hit costs no call; seed, sample index and every sampling knob keep answers apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from harness.llm.cache import CachedReply, ResponseCache, cache_key
from harness.llm.client import OpenAIChatModel
from harness.testserver import FakeOpenAIServer

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a river."}]
SECRET = "sk-cache-test-SECRET-0123456789"


class River(BaseModel):
    name: str


def test_a_hit_costs_no_call(server: FakeOpenAIServer, make_config: Any, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    model = OpenAIChatModel(make_config(server.base_url, "vllm"), cache)
    first = model.complete(MESSAGES, seed=1, temperature=0.7)
    again = model.complete(MESSAGES, seed=1, temperature=0.7)
    assert server.chat_count == 1
    assert not first.cached and again.cached
    assert again.text == first.text
    assert again.usage.prompt_tokens == first.usage.prompt_tokens
    assert model.usage.calls == 1
    assert cache.hits == 1


def test_seed_and_sample_index_keep_answers_apart(
    server: FakeOpenAIServer, make_config: Any, tmp_path: Path
) -> None:
    model = OpenAIChatModel(make_config(server.base_url, "vllm"), ResponseCache(tmp_path))
    model.complete(MESSAGES, seed=1)
    model.complete(MESSAGES, seed=2)  # another repetition
    model.complete(MESSAGES, seed=1, sample=1)  # another judge sample
    model.complete(MESSAGES, seed=1, sample=2)
    model.complete(MESSAGES, seed=1, max_tokens=5)
    model.complete(MESSAGES, seed=1, temperature=0.1)
    model.complete(MESSAGES, seed=1, response_model=River)
    assert server.chat_count == 7
    model.complete(MESSAGES, seed=1, sample=2)
    model.complete(MESSAGES, seed=1, response_model=River)
    assert server.chat_count == 7


def test_seed_is_keyed_even_when_the_backend_ignores_it(
    server: FakeOpenAIServer, make_config: Any, tmp_path: Path
) -> None:
    # `compatible` does not send a seed, but repetitions must still not collapse
    model = OpenAIChatModel(make_config(server.base_url, "compatible"), ResponseCache(tmp_path))
    model.complete(MESSAGES, seed=1)
    model.complete(MESSAGES, seed=2)
    assert server.chat_count == 2
    assert "seed" not in server.requests[0]


def test_structured_hit_is_parsed(server: FakeOpenAIServer, make_config: Any, tmp_path: Path) -> None:
    model = OpenAIChatModel(make_config(server.base_url, "llama_cpp"), ResponseCache(tmp_path))
    live = model.complete(MESSAGES, response_model=River, seed=3)
    hit = model.complete(MESSAGES, response_model=River, seed=3)
    assert hit.cached and hit.parsed == live.parsed


def test_embedded_entries_survive_a_port_change(make_config: Any, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    with FakeOpenAIServer() as one, FakeOpenAIServer() as two:
        OpenAIChatModel(make_config(one.base_url, "embedded"), cache).complete(MESSAGES, seed=1)
        OpenAIChatModel(make_config(two.base_url, "embedded"), cache).complete(MESSAGES, seed=1)
        assert (one.chat_count, two.chat_count) == (1, 0)
        # for a real endpoint the URL is part of the key
        OpenAIChatModel(make_config(one.base_url, "vllm"), cache).complete(MESSAGES, seed=1)
        OpenAIChatModel(make_config(two.base_url, "vllm"), cache).complete(MESSAGES, seed=1)
        assert (one.chat_count, two.chat_count) == (2, 1)


def test_cache_never_stores_a_key(server: FakeOpenAIServer, make_config: Any, tmp_path: Path) -> None:
    model = OpenAIChatModel(
        make_config(server.base_url, "vllm", api_key=SecretStr(SECRET)), ResponseCache(tmp_path)
    )
    model.complete(MESSAGES, seed=1)
    model.complete(MESSAGES, response_model=River)
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 2
    for path in files:
        assert SECRET not in path.read_text(encoding="utf-8")
    assert server.request_headers[0]["authorization"] == f"Bearer {SECRET}"  # it did go to the endpoint


def test_cache_store_roundtrip_and_unreadable_entry(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    key = cache_key({"model": "m", "messages": MESSAGES, "seed": 1, "sample": 0})
    assert cache.get(key) is None
    cache.put(key, CachedReply("hello", "m", 3, 1))
    assert cache.get(key) == CachedReply("hello", "m", 3, 1)
    assert len(cache) == 1
    path = next(tmp_path.rglob(f"{key}.json"))
    path.write_text("{broken", encoding="utf-8")
    assert cache.get(key) is None
    assert cache_key({"a": 1, "b": 2}) == cache_key({"b": 2, "a": 1})
