"""``harness.yamlsafe.load``: a text parsed once is served from the cache as a fresh copy."""

from __future__ import annotations

import pytest
import yaml

from harness import yamlsafe


def test_a_text_parsed_before_is_not_parsed_again_and_each_caller_gets_its_own_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parses: list[str] = []
    real = yamlsafe._parse

    def counting(text: str) -> tuple[object, yaml.Node | None]:
        parses.append(text)
        return real(text)

    monkeypatch.setattr(yamlsafe, "_parse", counting)
    text = "id: cached-doc-1\nitems:\n  - a\n  - b\nnested: {k: 1}\n"
    first, node = yamlsafe.load(text)
    first["items"].append("changed by the caller")
    first["nested"]["k"] = 99
    second, node2 = yamlsafe.load(text)
    assert parses == [text]  # parsed once
    assert second == {"id": "cached-doc-1", "items": ["a", "b"], "nested": {"k": 1}}
    assert second is not first and second["items"] is not first["items"]
    assert node2 is node and node is not None and node.start_mark.line == 0


def test_errors_are_raised_every_time_and_never_cached() -> None:
    text = "id: a\nid: b\n"
    for _ in range(2):
        with pytest.raises(yamlsafe.DuplicateKeyError, match="first given at line 1, again at line 2"):
            yamlsafe.load(text)


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsafe, "CACHE_ENTRIES", 3)
    monkeypatch.setattr(yamlsafe, "_cache", type(yamlsafe._cache)())
    for i in range(10):
        assert yamlsafe.load(f"n: {i}\n")[0] == {"n": i}
    assert len(yamlsafe._cache) == 3
    big = "x: " + "y" * (yamlsafe.CACHE_MAX_CHARS + 1) + "\n"
    assert yamlsafe.load(big)[0] == {"x": "y" * (yamlsafe.CACHE_MAX_CHARS + 1)}
    assert len(yamlsafe._cache) == 3  # too large to keep
