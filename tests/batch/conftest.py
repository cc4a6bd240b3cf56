"""Fixtures for the batch tests: the fake OpenAI-compatible server, a clean backend environment and
experiment files derived from ``tests/batch/fake-smoke.yaml``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.testserver import FakeOpenAIServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FAKE_SMOKE = HERE / "fake-smoke.yaml"
SMOKE = ROOT / "scenarios" / "smoke.yaml"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ray: starts a small local Ray instance (num_cpus=2)")


def clean_env(base_url: str | None = None) -> dict[str, str]:
    """The environment without backend/key variables (and the fake server's URL when given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "OPENAI_"))}
    if base_url is not None:
        env["HARNESS_BASE_URL"] = base_url
    return env


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    for name in list(os.environ):
        if name.startswith(("HARNESS_", "OPENAI_")):
            monkeypatch.delenv(name, raising=False)
    with FakeOpenAIServer(latency_ms=20) as server:
        monkeypatch.setenv("HARNESS_BASE_URL", server.base_url)
        yield server


@pytest.fixture
def experiment(tmp_path: Path) -> Callable[..., Path]:
    """``experiment(**changes)``: a copy of fake-smoke.yaml with top-level fields replaced."""

    def make(name: str = "exp.yaml", **changes: Any) -> Path:
        data = yaml.safe_load(FAKE_SMOKE.read_text())
        data["scenarios"] = [str(SMOKE)]
        data.update(changes)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return make
