"""Opening the batch's backends once and sharing them among its runs.

Backends are resolved up front (:func:`resolve_backends`: a missing key or URL is a one-line error before
anything is spent) and opened lazily by a :class:`ModelPool`, one chat model per backend (plus one per
``model_for`` entry), each wrapped in a :class:`~harness.batch.ratelimit.LimitedModel` whose gate is
shared by every run of that backend. An embedded backend starts its server once per pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.batch.ratelimit import Gate, LimitedModel
from harness.batch.spec import BackendSpec, Experiment
from harness.llm.config import BackendConfig, resolve_backend
from harness.opening import Models, Opened, open_models

log = logging.getLogger(__name__)


@dataclass
class Backend:
    """A backend of the grid, resolved (picklable: it travels to Ray workers)."""

    spec: BackendSpec
    config: BackendConfig


def resolve_backends(exp: Experiment) -> dict[str, Backend]:
    out: dict[str, Backend] = {}
    for b in exp.backends:
        config = resolve_backend(b.profile, b.base_url, b.model)
        if b.cache is not None:
            config = config.model_copy(update={"cache_dir": b.cache})
        out[b.name] = Backend(b, config)
    return out


Opener = Callable[[Backend, Path | None], Opened]
"""Builds the models of one backend (injectable: tests and benchmarks pass scripted models)."""


def open_backend(backend: Backend, log_file: Path | None) -> Opened:
    return open_models(backend.config, backend.spec.model_for, log_file)


class ModelPool:
    """One opened backend per name, its models behind that backend's gate."""

    def __init__(
        self,
        backends: dict[str, Backend],
        gate_for: Callable[[str], Gate],
        *,
        opener: Opener = open_backend,
        log_dir: Path | None = None,
    ) -> None:
        self.backends = backends
        self.gate_for = gate_for
        self.opener = opener
        self.log_dir = log_dir
        self._opened: dict[str, Opened] = {}

    def get(self, name: str) -> Opened:
        if name not in self._opened:
            backend = self.backends[name]
            log_file = self.log_dir / f"server-{name}.log" if self.log_dir is not None else None
            raw = self.opener(backend, log_file)
            gate = self.gate_for(name)
            m = raw.models
            wrapped = Models(
                default=LimitedModel(m.default, gate),
                backend=m.backend,
                per_delegation={d: LimitedModel(x, gate) for d, x in m.per_delegation.items()},
                per_delegation_names=dict(m.per_delegation_names),
            )
            self._opened[name] = Opened(wrapped, raw.prompt_cap, raw.closers)
        return self._opened[name]

    async def aclose(self) -> None:
        """Close every opened model inside the event loop that used it (its HTTP clients live there)."""
        for opened in self._opened.values():
            await opened.aclose()
        self._opened.clear()
