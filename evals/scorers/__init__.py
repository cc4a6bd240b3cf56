"""The scorer registry: the one list of scorers, from which the CLI, the batch spec and its workers derive.

A scorer is a module with a class behind the :class:`~evals.scorers.base.Scorer` interface and a
``from_settings(settings)`` class method; adding one is that module plus one :func:`register` line below
(or, from another package, an entry point in the ``harness.scorers`` group naming a :class:`ScorerInfo`).
Modules are imported only when their scorer is built, so listing scorers costs nothing at start-up.

``build_scorer("rules")``, ``build_scorer("judge", ScorerSettings(models=[...], samples=3))``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError

if TYPE_CHECKING:
    from evals.scorers.base import Scorer
    from harness.llm.base import ChatModel

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "harness.scorers"


@dataclass(frozen=True)
class ScorerSettings:
    """Everything a scorer may be built from (flags of ``harness score``, or a batch's scoring spec)."""

    codebook: Path | None = None
    models: Sequence[ChatModel] = ()
    samples: int = 1
    concurrency: int = 4
    pool: bool = False
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    """Scorer-specific settings by name: a judge's ``calibration`` (file) and panel ``combine``."""


Builder = Callable[[ScorerSettings], "Scorer"]


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    target: str | Builder
    """``"module:Class"`` (imported on first use; the class's ``from_settings`` builds it) or a builder."""
    description: str
    needs_models: bool = False
    """Built from chat models (a judge): the CLI opens them from ``--judge-*`` flags."""

    def build(self, settings: ScorerSettings) -> Scorer:
        if callable(self.target):
            return self.target(settings)
        module, _, attr = self.target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        scorer: Scorer = cls.from_settings(settings)
        return scorer


_REGISTRY: dict[str, ScorerInfo] = {}
_plugins_loaded = False


def register(info: ScorerInfo) -> ScorerInfo:
    """Add a scorer (a name already registered is replaced, with a warning)."""
    if info.name in _REGISTRY and _REGISTRY[info.name] is not info:
        log.warning("scorer %r registered again; the new one replaces it", info.name)
    _REGISTRY[info.name] = info
    return info


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            info = ep.load()
        except Exception as exc:  # a broken plugin must not take the built-in scorers down with it
            raise ConfigError(f"scorer plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if not isinstance(info, ScorerInfo):
            raise ConfigError(f"scorer plugin {ep.name!r} ({ep.value}) is not a ScorerInfo")
        register(info)


def registry() -> dict[str, ScorerInfo]:
    """Every registered scorer by name (built-in first, then plugins)."""
    _load_plugins()
    return dict(_REGISTRY)


def scorer_names() -> list[str]:
    return list(registry())


def scorer_info(name: str) -> ScorerInfo:
    found = registry().get(name)
    if found is None:
        raise ConfigError(f"unknown scorer {name!r}: choose one of {', '.join(scorer_names())}")
    return found


def build_scorer(name: str, settings: ScorerSettings | None = None) -> Scorer:
    """The scorer called ``name``, built from ``settings``."""
    info = scorer_info(name)
    settings = settings or ScorerSettings()
    if info.needs_models and not settings.models:
        raise ConfigError(f"scorer {name!r} needs a model: give --judge-backend/--judge-model")
    return info.build(settings)


register(ScorerInfo("rules", "evals.scorers.rules:RulesScorer", "transparent codebook, no model (default)"))
register(ScorerInfo("stated", "evals.scorers.stated:StatedScorer", "the levels the position cards state"))
register(ScorerInfo("judge", "evals.scorers.judge:JudgeScorer", "LLM judge or panel", needs_models=True))


__all__ = [
    "ScorerInfo",
    "ScorerSettings",
    "build_scorer",
    "register",
    "registry",
    "scorer_info",
    "scorer_names",
    "unregister",
]
