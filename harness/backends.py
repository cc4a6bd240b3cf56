"""Opening the chat models of one run (the default and per-delegation ones) and choosing a recorded run's
backend. Used by ``harness run``/``resume``/``fork`` and by the web room (``harness serve``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.llm.base import ChatModel
from harness.runner import Models
from harness.schema import BackendInfo


@contextlib.contextmanager
def open_models(
    backend: str | None,
    base_url: str | None,
    model: str | None,
    model_for: dict[str, str],
    cache: Path | None,
    log_file: Path | None,
) -> Iterator[tuple[Models, int | None]]:
    """Build the default model (+ per-delegation ones); stop embedded servers on the way out."""
    from harness.llm.client import build_chat_model
    from harness.llm.config import resolve_backend

    config = resolve_backend(backend, base_url, model)
    if cache is not None:
        config = config.model_copy(update={"cache_dir": cache})
    opened: list[Any] = []
    try:
        default = build_chat_model(config, log_file=log_file)
        opened.append(default)
        per: dict[str, ChatModel] = {}
        for d, name in model_for.items():
            m = build_chat_model(config.model_copy(update={"model": name}), log_file=log_file)
            opened.append(m)
            per[d] = m
        info = BackendInfo(profile=config.profile, base_url=default.base_url, model=default.model)
        cap = getattr(default, "prompt_cap", None)
        yield Models(default=default, backend=info, per_delegation=per, per_delegation_names=model_for), cap
    finally:
        for m in reversed(opened):
            with contextlib.suppress(Exception):
                m.close()


def backend_from(
    recorded: BackendInfo, backend: str | None, base_url: str | None, model: str | None
) -> tuple[str | None, str | None, str | None]:
    """Resume/fork on the run's own backend unless flags say otherwise (embedded restarts its server)."""
    backend = backend or recorded.profile
    if backend == recorded.profile and recorded.profile != "embedded":
        base_url = base_url or recorded.base_url
        model = model or recorded.model
    return backend, base_url, model
