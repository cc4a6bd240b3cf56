"""Which backend to talk to: :class:`BackendConfig` and its resolution from flags, env and harness.toml.

Precedence, highest first: CLI flags (``--backend``, ``--base-url``, ``--model``) > environment
(``HARNESS_BACKEND``, ``HARNESS_BASE_URL``, ``HARNESS_MODEL``, ``HARNESS_DIALECT`` and the profile's own key
variable) > the ``[backend]`` table of ``harness.toml`` > the default profile ``embedded``.

Rules that keep keys where they belong:

- a key is read only from the resolved profile's key variable, never from harness.toml;
- the ``[backend]`` table is one unit: its ``base_url``/``model`` apply only when its ``profile`` is the
  resolved one (or it names none), so ``--backend ollama`` never inherits a vLLM URL from the file;
- a base URL with no profile named anywhere means ``compatible``; ``embedded`` takes no base URL;
- the ``openai`` profile sends its key only to api.openai.com (use ``compatible`` for other hosts).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from harness.errors import ConfigError
from harness.llm.profiles import (
    DEFAULT_PROFILE,
    DUMMY_KEY,
    BackendProfile,
    Dialect,
    check_dialect,
    get_profile,
)
from harness.tomlconf import read_table

TOML_KEYS = frozenset({"profile", "base_url", "model", "dialect", "timeout", "max_retries"})


class BackendConfig(BaseModel):
    """A resolved backend. The key is a ``SecretStr`` excluded from ``repr`` and every dump."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str
    base_url: str | None
    """``None`` only for ``embedded`` before its server is started."""
    model: str
    dialect: Dialect
    api_key: SecretStr = Field(default=SecretStr(DUMMY_KEY), exclude=True, repr=False)
    timeout: float = Field(default=120.0, gt=0)
    """Seconds for one HTTP request."""
    max_retries: int = Field(default=4, ge=0)
    """Transport retries after the first attempt (see :mod:`harness.llm.retry`)."""
    max_retry_time: float = Field(default=300.0, gt=0)
    """Total seconds one call may spend across retries."""
    reasks: int = Field(default=2, ge=0)
    """Re-asks after a structured reply fails validation."""
    cache_dir: Path | None = None

    @property
    def backend_profile(self) -> BackendProfile:
        return get_profile(self.profile)

    def info(self) -> dict[str, str | None]:
        """What a manifest records: never the key."""
        return {"profile": self.profile, "base_url": self.base_url, "model": self.model}

    def with_endpoint(self, base_url: str, model: str | None = None) -> BackendConfig:
        """A copy pointed at a started server (embedded)."""
        return self.model_copy(update={"base_url": base_url, "model": model or self.model})


def _load_toml(toml_path: str | Path | None) -> dict[str, Any]:
    """The checked ``[backend]`` table of harness.toml (empty when there is none)."""
    if toml_path is None:
        return {}
    path = Path(toml_path)
    table = read_table(path, "backend")
    unknown = sorted(set(table) - TOML_KEYS)
    if unknown:
        hint = (
            " (keys are read only from the profile's environment variable)"
            if any("key" in k for k in unknown)
            else ""
        )
        raise ConfigError(
            f"{path}: [backend] has unknown key(s) {', '.join(unknown)}{hint}; "
            f"allowed: {', '.join(sorted(TOML_KEYS))}"
        )
    for name, value in table.items():
        if name in {"profile", "base_url", "model", "dialect"} and not isinstance(value, str):
            raise ConfigError(f"{path}: [backend] {name} must be a string")
    return table


def _check_base_url(url: str, *, source: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{source}: base URL {url!r} must look like http://host:port/v1")
    return url.strip().rstrip("/")


def _pick(*candidates: tuple[str | None, str]) -> tuple[str | None, str]:
    """The first non-empty value and where it came from."""
    for value, source in candidates:
        if value is not None and value.strip():
            return value.strip(), source
    return None, ""


def resolve_backend(
    cli_backend: str | None = None,
    cli_base_url: str | None = None,
    cli_model: str | None = None,
    env: Mapping[str, str] | None = None,
    toml_path: str | Path | None = "harness.toml",
) -> BackendConfig:
    """Resolve the backend from flags, environment, harness.toml and defaults (see module doc)."""
    env = os.environ if env is None else env
    table = _load_toml(toml_path)
    toml_src = f"{toml_path} [backend]"

    profile_name, profile_src = _pick(
        (cli_backend, "--backend"),
        (env.get("HARNESS_BACKEND"), "HARNESS_BACKEND"),
        (table.get("profile"), toml_src),
    )
    toml_applies = table.get("profile") is None or profile_name == table.get("profile")
    toml_url = table.get("base_url") if toml_applies else None
    toml_model = table.get("model") if toml_applies else None

    base_url, url_src = _pick(
        (cli_base_url, "--base-url"), (env.get("HARNESS_BASE_URL"), "HARNESS_BASE_URL"), (toml_url, toml_src)
    )
    if profile_name is None:
        profile_name = "compatible" if base_url is not None else DEFAULT_PROFILE
        profile_src = "default"
    try:
        profile = get_profile(profile_name)
    except ConfigError as exc:
        raise ConfigError(f"{profile_src}: {exc}") from None

    if base_url is not None:
        if profile.name == "embedded":
            raise ConfigError(
                f"{url_src}: the embedded backend starts its own server and takes no base URL; "
                "use --backend llama_cpp --base-url URL for a running llama-cpp-python server"
            )
        base_url = _check_base_url(base_url, source=url_src)
    elif profile.base_url_required:
        raise ConfigError(f"backend {profile.name} needs a base URL: --base-url or HARNESS_BASE_URL")
    else:
        base_url = profile.base_url

    model, _ = _pick(
        (cli_model, "--model"), (env.get("HARNESS_MODEL"), "HARNESS_MODEL"), (toml_model, toml_src)
    )
    model = model or profile.default_model
    if model is None:
        raise ConfigError(f"backend {profile.name} needs a model name: --model or HARNESS_MODEL")

    dialect_value, dialect_src = _pick(
        (env.get("HARNESS_DIALECT"), "HARNESS_DIALECT"), (table.get("dialect"), toml_src)
    )
    dialect = check_dialect(dialect_value, source=dialect_src) if dialect_value else profile.dialect

    api_key = DUMMY_KEY
    if profile.key_var is not None:
        found = env.get(profile.key_var, "").strip()
        if found:
            api_key = found
        elif profile.key_required:
            raise ConfigError(
                f"backend {profile.name} needs a key in the environment variable {profile.key_var}"
            )
    if profile.key_hosts and base_url is not None and urlsplit(base_url).hostname not in profile.key_hosts:
        raise ConfigError(
            f"backend {profile.name} sends {profile.key_var} only to {', '.join(profile.key_hosts)}, "
            f"not {base_url}; use --backend compatible (key from HARNESS_API_KEY) for other endpoints"
        )

    extra: dict[str, Any] = {}
    for name in ("timeout", "max_retries"):
        if name in table:
            extra[name] = table[name]
    try:
        return BackendConfig(
            profile=profile.name,
            base_url=base_url,
            model=model,
            dialect=dialect,
            api_key=SecretStr(api_key),
            **extra,
        )
    except ValueError as exc:  # pydantic ValidationError on timeout/max_retries from the file
        first = str(exc).splitlines()
        raise ConfigError(f"{toml_src}: {' '.join(first[1:3]) if len(first) > 1 else exc}") from None
