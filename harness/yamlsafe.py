"""Safe YAML that refuses duplicate mapping keys.

PyYAML's ``safe_load`` keeps the *last* value of a key given twice (``id: a`` … ``id: b``), so an edit
lower in a file can silently override another. :func:`load` reads a document with the safe loader and
raises :class:`DuplicateKeyError` (a ``yaml.YAMLError``) naming both lines instead. Keys are compared
after construction, so ``1`` and ``0x1``, or ``4`` and ``4.0``, are duplicates too (they would collapse
into one dict key). A key that explicitly overrides one pulled in by a merge key (``<<: *base``) is
YAML's documented override, not a duplicate.

PyYAML's pure-Python parser costs milliseconds per file, and a batch reads the same scenario, personas and
rubrics again for every run it scores: :func:`load` keeps the last documents it parsed (by the SHA-256 of
their text, up to :data:`CACHE_ENTRIES` documents of at most :data:`CACHE_MAX_CHARS` characters) and
hands out a deep copy of the data, so a caller may change what it gets.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import yaml

MERGE_TAG = "tag:yaml.org,2002:merge"
CACHE_ENTRIES = 128
CACHE_MAX_CHARS = 256 * 1024

_cache: OrderedDict[bytes, tuple[Any, yaml.Node | None]] = OrderedDict()
_cache_lock = threading.Lock()


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice.

    ``line`` and ``first_line`` are 1-based; ``path`` is the location of the mapping from the document
    root (keys and list indexes), empty for the top level.
    """

    def __init__(self, key: Any, line: int, first_line: int, mapping: yaml.Node | None = None) -> None:
        self.key = key
        self.line = line
        self.first_line = first_line
        self.mapping = mapping
        self.path: tuple[int | str, ...] = ()
        shown = repr(key)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        self.shown = shown
        super().__init__(f"duplicate key {shown}: first given at line {first_line}, again at line {line}")


class _Loader(yaml.SafeLoader):
    """The safe loader with a duplicate-key check on every mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            if first is not None:
                raise DuplicateKeyError(key, key_node.start_mark.line + 1, first.start_mark.line + 1, node)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _path_to(root: yaml.Node, target: yaml.Node | None) -> tuple[int | str, ...]:
    """Keys and indexes from ``root`` down to ``target`` (iteratively: documents may nest deeply)."""
    stack: list[tuple[yaml.Node, tuple[int | str, ...]]] = [(root, ())]
    seen: set[int] = set()  # aliases make the tree a graph
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend((v, (*path, str(getattr(k, "value", "?")))) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, (*path, i)) for i, v in enumerate(node.value))
    return ()


def load(text: str) -> tuple[Any, yaml.Node | None]:
    """The document in ``text`` and its composed node tree (for line numbers); ``None`` when empty.

    Raises ``yaml.YAMLError`` (:class:`DuplicateKeyError` for a key given twice) and whatever PyYAML's
    constructors raise on odd input; callers turn both into one-line errors. A text parsed before is
    not parsed again: the data comes back as a fresh deep copy, the node tree shared (read it only).
    """
    if len(text) > CACHE_MAX_CHARS:
        return _parse(text)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    with _cache_lock:
        hit = _cache.get(digest)
        if hit is not None:
            _cache.move_to_end(digest)
    if hit is None:
        hit = _parse(text)  # an error is raised here and never cached
        with _cache_lock:
            _cache[digest] = hit
            while len(_cache) > CACHE_ENTRIES:
                _cache.popitem(last=False)
    data, node = hit
    return copy.deepcopy(data), node


def _parse(text: str) -> tuple[Any, yaml.Node | None]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        try:
            data = loader.construct_document(node)
        except DuplicateKeyError as exc:
            exc.path = _path_to(node, exc.mapping)
            raise
        return data, node
    finally:
        loader.dispose()
