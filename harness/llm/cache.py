"""An optional on-disk response cache: one JSON file per request, keyed on sha256 of the full request.

The key covers the endpoint (profile, and the base URL except for ``embedded`` whose port changes every
run), model, messages, response schema and dialect, temperature, seed, max_tokens and the sample index,
so N repetitions and k judge samples never collapse into one cached answer. Entries hold the reply text,
the answering model and token counts — never a key. Writes are atomic (temp file + rename), so parallel
workers may share a folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedReply:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 1


def cache_key(request: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of everything that shapes an answer."""
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """A folder of ``<key[:2]>/<key>.json`` files. ``hits``/``misses`` count lookups."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> CachedReply | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            reply = CachedReply(**data["reply"])
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:  # a damaged entry
            log.warning("ignoring unreadable cache entry %s: %s", path, exc)
            self.misses += 1
            return None
        self.hits += 1
        return reply

    def put(self, key: str, reply: CachedReply, request: dict[str, Any] | None = None) -> None:
        """Store ``reply``; ``request`` (no key in it — the client never puts one there) aids debugging."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"key": key, "created": time.time(), "reply": asdict(reply), "request": request}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, ensure_ascii=False, default=str)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*/*.json"))
