"""Opening a backend for runs: the default chat model plus one per ``--model-for`` delegation.

The one place models are opened for exercises: ``harness run``/``resume``/``fork``, every batch run and
the web room call :func:`open_models` (an embedded backend starts its server here) and close what it
returns; :func:`recorded_backend` picks the backend a recorded run continues on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.llm.base import ChatModel
from harness.llm.config import BackendConfig
from harness.schema import BackendInfo

log = logging.getLogger(__name__)


@dataclass
class Models:
    """The chat models of one run: the default, and a delegation's own where ``model_for`` names one."""

    default: ChatModel
    backend: BackendInfo
    per_delegation: dict[str, ChatModel] = field(default_factory=dict)
    per_delegation_names: dict[str, str] = field(default_factory=dict)


@dataclass
class Opened:
    models: Models
    prompt_cap: int | None
    """The largest prompt the backend takes, when it says (the embedded server's context)."""
    closers: list[Any] = field(default_factory=list)
    """Objects to close at the end, last opened first: ``aclose()`` where they have one, else ``close()``."""

    def close(self) -> None:
        _close_all(self.closers)

    async def aclose(self) -> None:
        """Close inside the event loop that used the models (their HTTP clients live there)."""
        for m in self.closers:
            try:
                aclose = getattr(m, "aclose", None)
                if aclose is not None:
                    await aclose()
                else:
                    m.close()
            except Exception:  # closing must never hide the outcome of the work
                log.debug("closing a model failed", exc_info=True)


def _close_all(objects: list[Any]) -> None:
    for m in objects:
        with contextlib.suppress(Exception):
            m.close()


def open_models(
    config: BackendConfig, model_for: Mapping[str, str] | None = None, log_file: Path | None = None
) -> Opened:
    """Build the backend's models (nothing is left open when one of them fails)."""
    from harness.llm.client import build_chat_model

    model_for = dict(model_for or {})
    built: list[Any] = []
    try:
        default = build_chat_model(config, log_file=log_file)
        built.append(default)
        per: dict[str, ChatModel] = {}
        for delegation, name in model_for.items():
            m = build_chat_model(config.model_copy(update={"model": name}), log_file=log_file)
            built.append(m)
            per[delegation] = m
    except BaseException:
        _close_all(list(reversed(built)))
        raise
    info = BackendInfo(profile=config.profile, base_url=default.base_url, model=default.model)
    models = Models(default, info, per, model_for)
    return Opened(models, getattr(default, "prompt_cap", None), list(reversed(built)))


@contextlib.contextmanager
def opened_models(
    config: BackendConfig, model_for: Mapping[str, str] | None = None, log_file: Path | None = None
) -> Iterator[Opened]:
    """:func:`open_models` as a context manager (embedded servers are stopped on the way out)."""
    opened = open_models(config, model_for, log_file)
    try:
        yield opened
    finally:
        opened.close()


def recorded_backend(
    recorded: BackendInfo, backend: str | None, base_url: str | None, model: str | None
) -> tuple[str | None, str | None, str | None]:
    """Resume/fork on the run's own backend unless flags say otherwise (embedded restarts its server)."""
    backend = backend or recorded.profile
    if backend == recorded.profile and recorded.profile != "embedded":
        base_url = base_url or recorded.base_url
        model = model or recorded.model
    return backend, base_url, model
