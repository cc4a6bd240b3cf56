"""Backend profiles and configuration precedence: CLI > env > harness.toml > default; keys stay home."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.llm.config import BackendConfig, resolve_backend
from harness.llm.profiles import DUMMY_KEY, PROFILES, get_profile

SECRET = "sk-test-SECRET-value-0123456789"


def toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "harness.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_all_design_profiles_exist_with_their_dialects() -> None:
    assert set(PROFILES) == {
        "embedded",
        "llama_cpp",
        "llama_server",
        "ollama",
        "vllm",
        "openai",
        "compatible",
    }
    assert get_profile("embedded").dialect == "json_object_schema"
    assert get_profile("llama_cpp").dialect == "json_object_schema"
    assert get_profile("openai").dialect == "json_schema_strict"
    for name in ("llama_server", "ollama", "vllm", "compatible"):
        assert get_profile(name).dialect == "json_schema"
    assert get_profile("openai").key_var == "OPENAI_API_KEY"
    assert get_profile("vllm").key_var == "HARNESS_API_KEY"
    assert get_profile("ollama").key_var is None
    assert get_profile("llama_cpp").base_url == "http://127.0.0.1:8000/v1"
    assert get_profile("ollama").base_url == "http://127.0.0.1:11434/v1"


def test_default_is_embedded(tmp_path: Path) -> None:
    cfg = resolve_backend(env={}, toml_path=tmp_path / "missing.toml")
    assert cfg.profile == "embedded"
    assert cfg.base_url is None
    assert cfg.model == "SmolLM2-135M-Instruct"
    assert cfg.api_key.get_secret_value() == DUMMY_KEY


def test_precedence_cli_over_env_over_toml(tmp_path: Path) -> None:
    path = toml(tmp_path, '[backend]\nprofile = "ollama"\nmodel = "from-toml"\n')
    assert resolve_backend(env={}, toml_path=path).model == "from-toml"
    env = {"HARNESS_BACKEND": "ollama", "HARNESS_MODEL": "from-env"}
    assert resolve_backend(env=env, toml_path=path).model == "from-env"
    assert resolve_backend(cli_model="from-cli", env=env, toml_path=path).model == "from-cli"
    cfg = resolve_backend(
        cli_backend="llama_server", cli_base_url="http://gpu:9000/v1/", env=env, toml_path=path
    )
    assert (cfg.profile, cfg.base_url, cfg.model) == ("llama_server", "http://gpu:9000/v1", "from-env")


def test_toml_backend_table_is_one_unit(tmp_path: Path) -> None:
    path = toml(tmp_path, '[backend]\nprofile = "vllm"\nbase_url = "http://vllm:8000/v1"\nmodel = "qwen"\n')
    cfg = resolve_backend(env={}, toml_path=path)
    assert (cfg.profile, cfg.base_url, cfg.model) == ("vllm", "http://vllm:8000/v1", "qwen")
    # another profile from the CLI does not inherit the file's URL or model
    other = resolve_backend(cli_backend="llama_server", env={}, toml_path=path)
    assert (other.base_url, other.model) == ("http://127.0.0.1:8080/v1", "local")


def test_base_url_alone_means_compatible() -> None:
    cfg = resolve_backend(cli_base_url="http://studio:1234/v1", cli_model="m", env={}, toml_path=None)
    assert cfg.profile == "compatible"


@pytest.mark.parametrize(
    ("kwargs", "env", "needle"),
    [
        ({"cli_backend": "nope"}, {}, "unknown backend 'nope'"),
        ({"cli_backend": "embedded", "cli_base_url": "http://x:1/v1"}, {}, "takes no base URL"),
        ({"cli_backend": "compatible", "cli_model": "m"}, {}, "needs a base URL"),
        ({"cli_backend": "ollama"}, {}, "needs a model name"),
        ({"cli_backend": "openai"}, {}, "OPENAI_API_KEY"),
        ({"cli_backend": "vllm", "cli_base_url": "ftp://x", "cli_model": "m"}, {}, "must look like"),
        (
            {"cli_backend": "openai", "cli_base_url": "http://vllm:8000/v1"},
            {"OPENAI_API_KEY": SECRET},
            "only to api.openai.com",
        ),
        ({"cli_backend": "vllm", "cli_model": "m"}, {"HARNESS_DIALECT": "xml"}, "unknown structured-output"),
    ],
)
def test_bad_values_give_one_line_config_errors(
    kwargs: dict[str, str], env: dict[str, str], needle: str
) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_backend(**kwargs, env=env, toml_path=None)
    message = str(err.value)
    assert needle in message
    assert "\n" not in message
    assert SECRET not in message


def test_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve_backend(env={}, toml_path=toml(tmp_path, "[backend\n"))
    with pytest.raises(ConfigError, match="environment variable"):
        resolve_backend(env={}, toml_path=toml(tmp_path, '[backend]\napi_key = "sk-x"\n'))
    with pytest.raises(ConfigError, match="must be a string"):
        resolve_backend(env={}, toml_path=toml(tmp_path, "[backend]\nmodel = 3\n"))
    with pytest.raises(ConfigError, match=r"harness\.toml"):
        resolve_backend(
            env={}, toml_path=toml(tmp_path, '[backend]\nprofile = "vllm"\nmodel="m"\ntimeout = -1\n')
        )


def test_key_read_only_from_the_profiles_own_variable() -> None:
    env = {"OPENAI_API_KEY": SECRET, "HARNESS_API_KEY": "vllm-key"}
    vllm = resolve_backend(cli_backend="vllm", cli_model="m", env=env, toml_path=None)
    assert vllm.api_key.get_secret_value() == "vllm-key"
    # an OpenAI key never goes to a local server
    only_openai = {"OPENAI_API_KEY": SECRET}
    for profile in ("vllm", "ollama", "llama_cpp", "llama_server", "embedded"):
        cfg = resolve_backend(cli_backend=profile, cli_model="m", env=only_openai, toml_path=None)
        assert cfg.api_key.get_secret_value() == DUMMY_KEY, profile
    openai_cfg = resolve_backend(cli_backend="openai", env=env, toml_path=None)
    assert openai_cfg.api_key.get_secret_value() == SECRET
    assert openai_cfg.base_url == "https://api.openai.com/v1"


def test_key_never_in_repr_dumps_or_info() -> None:
    cfg = resolve_backend(cli_backend="openai", env={"OPENAI_API_KEY": SECRET}, toml_path=None)
    for text in (repr(cfg), str(cfg), cfg.model_dump_json(), str(cfg.model_dump()), str(cfg.info())):
        assert SECRET not in text
    assert "api_key" not in cfg.model_dump()
    assert cfg.info() == {
        "profile": "openai",
        "base_url": "https://api.openai.com/v1",
        "model": "gpt-4o-mini",
    }


def test_toml_timeout_and_dialect(tmp_path: Path) -> None:
    path = toml(
        tmp_path,
        '[backend]\nprofile = "compatible"\nbase_url = "http://gw/v1"\nmodel = "m"\n'
        'dialect = "json_object_schema"\ntimeout = 30\nmax_retries = 1\n',
    )
    cfg = resolve_backend(env={}, toml_path=path)
    assert (cfg.dialect, cfg.timeout, cfg.max_retries) == ("json_object_schema", 30.0, 1)
    assert resolve_backend(env={"HARNESS_DIALECT": "json_schema_strict"}, toml_path=path).dialect == (
        "json_schema_strict"
    )


def test_with_endpoint_copies() -> None:
    cfg = BackendConfig(
        profile="embedded", base_url=None, model="SmolLM2-135M-Instruct", dialect="json_object_schema"
    )
    started = cfg.with_endpoint("http://127.0.0.1:5555/v1")
    assert started.base_url == "http://127.0.0.1:5555/v1"
    assert cfg.base_url is None
