"""Where the harness keeps files it derives from installed packages between runs (never downloads).

``$HARNESS_CACHE_DIR`` when set, else ``~/.cache/delegation-harness``. Today it holds the embedding
scorers' distilled token vectors (:mod:`evals.scorers.minilm`) and the embedded model's requantized
weights (:mod:`harness.llm.weights`); deleting it only costs the time to derive them again.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "HARNESS_CACHE_DIR"


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    explicit = os.environ.get(ENV)
    return Path(explicit) if explicit else Path.home() / ".cache" / "delegation-harness"
