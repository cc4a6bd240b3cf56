"""Backend profiles (docs/backends.md) as data: where a backend lives, which key it takes, how it does JSON.

A profile fixes the default base URL, the ONE environment variable its key is read from (``None``: the
server needs no key and a fixed placeholder is sent), the structured-output dialect and capabilities.
A key is only ever read from its own profile's variable, so an ``OPENAI_API_KEY`` is never sent to a
vLLM or Ollama URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from harness.errors import ConfigError

Dialect = Literal["json_schema_strict", "json_schema", "json_object_schema"]
"""How a structured request is phrased:

- ``json_schema_strict``: ``{"type": "json_schema", "json_schema": {..., "strict": true}}`` (OpenAI);
  the schema is made strict (``additionalProperties: false``, every property required).
- ``json_schema``: the same without ``strict`` (llama.cpp's C++ server, Ollama, vLLM).
- ``json_object_schema``: ``{"type": "json_object", "schema": ...}`` (llama-cpp-python's server, which
  answers ``json_schema`` with HTTP 500).
"""

DIALECTS: tuple[str, ...] = get_args(Dialect)

DUMMY_KEY = "not-needed"
"""Sent to keyless local servers (the SDK insists on some key). Never a real secret."""

OPENAI_BASE_URL = "https://api.openai.com/v1"
EMBEDDED_MODEL = "SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class BackendProfile:
    name: str
    description: str
    base_url: str | None
    """Default endpoint; ``None`` for ``embedded`` (started by the harness) and ``compatible`` (required)."""
    key_var: str | None
    """The only environment variable a key is read from; ``None``: no key, :data:`DUMMY_KEY` is sent."""
    dialect: Dialect
    seed: bool
    logprobs: bool
    default_model: str | None
    """``None``: the model must be named (``--model`` / ``HARNESS_MODEL`` / harness.toml)."""
    key_required: bool = False
    base_url_required: bool = False
    key_hosts: tuple[str, ...] = ()
    """If non-empty, the key may only be sent to these hosts (``openai``: api.openai.com)."""


PROFILES: dict[str, BackendProfile] = {
    p.name: p
    for p in (
        BackendProfile(
            name="embedded",
            description="SmolLM2-135M-Instruct served by llama-cpp-python, started by the harness",
            base_url=None,
            key_var=None,
            dialect="json_object_schema",
            seed=True,
            logprobs=False,  # started with --logits_all False: the logits of the last token only
            default_model=EMBEDDED_MODEL,
        ),
        BackendProfile(
            name="llama_cpp",
            description="a running llama-cpp-python server (python -m llama_cpp.server)",
            base_url="http://127.0.0.1:8000/v1",
            key_var=None,
            dialect="json_object_schema",
            seed=True,
            logprobs=True,
            default_model="local",
        ),
        BackendProfile(
            name="llama_server",
            description="llama.cpp's C++ llama-server",
            base_url="http://127.0.0.1:8080/v1",
            key_var=None,
            dialect="json_schema",
            seed=True,
            logprobs=True,
            default_model="local",
        ),
        BackendProfile(
            name="ollama",
            description="Ollama's OpenAI-compatible endpoint",
            base_url="http://127.0.0.1:11434/v1",
            key_var=None,
            dialect="json_schema",
            seed=True,
            logprobs=False,
            default_model=None,
        ),
        BackendProfile(
            name="vllm",
            description="a vLLM OpenAI-compatible server",
            base_url="http://127.0.0.1:8000/v1",
            key_var="HARNESS_API_KEY",
            dialect="json_schema",
            seed=True,
            logprobs=True,
            default_model=None,
        ),
        BackendProfile(
            name="openai",
            description="the OpenAI API",
            base_url=OPENAI_BASE_URL,
            key_var="OPENAI_API_KEY",
            dialect="json_schema_strict",
            seed=True,
            logprobs=True,
            default_model="gpt-4o-mini",
            key_required=True,
            key_hosts=("api.openai.com",),
        ),
        BackendProfile(
            name="compatible",
            description="any OpenAI-compatible endpoint (LM Studio, gateways…); --base-url required",
            base_url=None,
            key_var="HARNESS_API_KEY",
            dialect="json_schema",
            seed=False,
            logprobs=False,
            default_model=None,
            base_url_required=True,
        ),
    )
}

DEFAULT_PROFILE = "embedded"


def get_profile(name: str) -> BackendProfile:
    """The profile called ``name``, or a :class:`ConfigError` listing the valid names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}: choose one of {', '.join(PROFILES)}") from None


def check_dialect(value: str, *, source: str) -> Dialect:
    if value not in DIALECTS:
        raise ConfigError(
            f"{source}: unknown structured-output dialect {value!r}: choose one of {', '.join(DIALECTS)}"
        )
    return value  # type: ignore[return-value]
