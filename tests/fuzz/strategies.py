"""Hostile files: real files damaged in many ways, and files generated from nothing.

Sizes are bounded (a few hundred kB at most, one draw in many) so every example is quick; the limits
the readers enforce (1,000,000 characters a statement, 64 levels and 16 MiB a JSON line) are crossed by
the few large draws (``BIG``) and by the nesting depths in ``DEPTHS``.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from typing import Any

import yaml
from hypothesis import strategies as st

DEPTHS = (3, 63, 64, 65, 200, 5_000, 60_000)
BIG = (200, 4_096, 131_073, 1_000_001)
TOKENS = [
    b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\r", b"\r\n", b"\n\n", b"\t", b'"', b'""', b"'",
    b",", b":", b": ", b"- ", b"? ", b"|", b">", b"[", b"]", b"{", b"}", b"&a ", b"*a", b"<<: ", b"!!binary ",
    b"!!python/object/apply:os.system ['true']", b"!!timestamp 2016-13-45", b"\\", b"\\u0000", b"\\ud800",
    "\u2028".encode(), "\u0085".encode(), b"#", b"## Move 1: x\n", b"### Caucus\n", b"Control: ",
    b"A (ROK): ", b"(", b")", b"%YAML 1.1\n", b"---\n", b"...\n", b"1e999", b"NaN", b"-0", b"9" * 5000,
    b'"\\', b"\x1b[2J",
]  # fmt: skip


def _deep(depth: int, style: int) -> bytes:
    if style == 0:
        return b"[" * depth + b"]" * depth
    if style == 1:
        return b'{"a":' * depth + b"1" + b"}" * depth
    if style == 2:
        return b"[" * depth  # unbalanced
    if style == 3:
        return b"(" * depth + b")" * depth  # regular expressions (codebook patterns)
    return b"".join(b"  " * i + b"- \n" for i in range(min(depth, 3_000)))  # YAML block nesting


junk: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from(TOKENS),
    st.binary(max_size=24),
    st.text(max_size=24).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(_deep, st.sampled_from(DEPTHS), st.integers(0, 4)),
    st.builds(lambda n, c: c * n, st.sampled_from(BIG), st.sampled_from([b"x", b"[", b'"', b"\n", b" "])),
)


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


EDITS = (
    "insert",
    "delete",
    "replace",
    "dup_line",
    "swap_lines",
    "drop_line",
    "truncate",
    "encode",
    "nest",
    "blob",
)


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A real file damaged by 1-4 edits: bytes inserted, deleted, replaced; lines duplicated, swapped,
    dropped; deep nesting or a long run inserted; the file truncated, re-encoded or its line ends
    changed."""
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(EDITS))
        n = len(data)
        at = draw(st.integers(0, n))
        if op == "insert":
            data = data[:at] + draw(junk) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 400)) :]
        elif op == "replace":
            data = data[:at] + draw(junk) + data[at + draw(st.integers(1, 40)) :]
        elif op in ("dup_line", "swap_lines", "drop_line"):
            lines = _lines(data)
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "dup_line":  # a key or an event given twice
                lines.insert(j, lines[i])
            elif op == "swap_lines":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                del lines[i]
            data = b"".join(lines)
        elif op == "nest":  # the known hazard classes, drawn often enough to be met in a short run
            data = data[:at] + _deep(draw(st.sampled_from(DEPTHS)), draw(st.integers(0, 4))) + data[at:]
        elif op == "blob":
            data = (
                data[:at]
                + draw(st.sampled_from([b"x", b"[", b'"', b" "])) * draw(st.sampled_from(BIG))
                + data[at:]
            )
        elif op == "truncate":
            data = data[:at]
        else:
            data = draw(st.sampled_from(_reencodings(data)))
    return data


def _reencodings(data: bytes) -> list[bytes]:
    text = data.decode("utf-8", "replace")
    return [
        text.encode("utf-16"),
        text.encode("latin-1", "replace"),
        text.replace("\n", "\r\n").encode("utf-8"),
        text.replace("\n", "\r").encode("utf-8"),
        b"\xef\xbb\xbf" + data,
    ]


# ------------------------------------------------------------------------------------------------
# Structured values: JSON and YAML documents
# ------------------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, 4, -1, 5, 2**63, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["", "neo", "ROK", "m1", "caucus", "plenary", "utterance", "manifest", "run_end", "x" * 300]
    ),
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def nested(depth: int) -> Any:
    """A value nested ``depth`` levels deep, built without recursion."""
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


STRUCTURED_DEPTHS = (63, 64, 65, 150)
"""Depths for values that go through json.dumps / yaml.safe_dump (recursive): deeper ones come as bytes."""
hostile_values: st.SearchStrategy[Any] = st.one_of(
    values, st.sampled_from(STRUCTURED_DEPTHS).map(nested), st.sampled_from(BIG).map(lambda n: "y" * n)
)


def _paths(node: Any) -> list[tuple[Any, ...]]:
    """Every location in a JSON-like tree (iteratively)."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(node, ())]
    while stack:
        cur, path = stack.pop()
        out.append(path)
        if isinstance(cur, dict):
            stack.extend((v, (*path, k)) for k, v in cur.items())
        elif isinstance(cur, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(cur))
    return out


@st.composite
def edited(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with one value deleted, replaced or added somewhere (a copy)."""
    doc = copy.deepcopy(doc)
    path = draw(st.sampled_from(sorted(_paths(doc), key=repr)))
    op = draw(st.sampled_from(["delete", "replace", "add"]))
    value = draw(hostile_values)
    if not path:
        return value if op == "replace" else doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if op == "delete":
        del parent[path[-1]]
    elif op == "replace":
        parent[path[-1]] = value
    elif isinstance(parent, dict):
        parent[draw(st.text(max_size=10))] = value
    else:
        parent.insert(path[-1], value)
    return doc


def _dump_json(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def jsonl_edited(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A real JSONL file with one line's value edited (valid JSON, possibly an invalid row)."""
    lines = [ln for ln in draw(st.sampled_from(seeds)).splitlines() if ln.strip()]
    i = draw(st.integers(0, len(lines) - 1))
    lines[i] = _dump_json(draw(edited(json.loads(lines[i]))), draw(st.booleans()))
    return b"\n".join(lines) + b"\n"


@st.composite
def yaml_edited(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A real YAML file with one value edited, dumped in block or flow style."""
    doc = yaml.safe_load(draw(st.sampled_from(seeds)).decode("utf-8"))
    doc = draw(edited(doc))
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------------------------------------
# From nothing
# ------------------------------------------------------------------------------------------------

EVENT_KINDS = [
    "manifest",
    "inject",
    "utterance",
    "position_card",
    "adjudication",
    "error",
    "resume",
    "run_end",
]


@st.composite
def event_like(draw: st.DrawFn) -> Any:
    base = {"v": 1, "seq": draw(st.integers(-1, 10)), "key": draw(st.text(max_size=8)), "event": None}
    base["event"] = draw(st.sampled_from(EVENT_KINDS) | st.text(max_size=8))
    return draw(edited(base)) if draw(st.booleans()) else base


jsonl_scratch: st.SearchStrategy[bytes] = st.lists(
    st.one_of(
        st.builds(_dump_json, st.one_of(event_like(), hostile_values), st.booleans()),
        junk,
    ),
    max_size=6,
).map(lambda lines: b"\n".join(lines) + b"\n")

yaml_scratch: st.SearchStrategy[bytes] = st.one_of(
    st.builds(
        lambda v, flow: yaml.safe_dump(v, allow_unicode=True, default_flow_style=flow).encode(
            "utf-8", "surrogatepass"
        ),
        hostile_values,
        st.booleans(),
    ),
    st.lists(junk, max_size=8).map(b"".join),
)

_CSV_FIELD = st.one_of(
    st.text(max_size=20),
    st.sampled_from(['"', '""', '"x', 'x"y', "a,b", "\n", "\r", "ROK", "m1", "caucus", "1", "", "\x00"]),
)


@st.composite
def csv_scratch(draw: st.DrawFn) -> bytes:
    """A header (sometimes missing columns) and rows, written properly or glued together raw."""
    columns = ["move", "delegation", "speaker", "text", "phase", "channel"]
    header = draw(st.lists(st.sampled_from(columns) | st.text(max_size=6), min_size=1, max_size=7))
    rows = draw(st.lists(st.lists(_CSV_FIELD, max_size=8), max_size=6))
    if draw(st.booleans()):
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        text = buf.getvalue()
    else:
        text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    return text.encode("utf-8", "surrogatepass")


_MD_LINE = st.one_of(
    st.builds(
        lambda i, t: f"## Move {i}: {t}",
        st.sampled_from(["1", "2", "x", "", "1.2", "-"]),
        st.text(max_size=10),
    ),
    st.sampled_from(["### Caucus", "### Plenary", "### Hot-wash", "# Title", "## Move", "####### deep"]),
    st.builds(
        lambda s, d, t: f"{s} ({d}): {t}", st.text(max_size=12), st.text(max_size=6), st.text(max_size=30)
    ),
    st.builds(lambda t: f"Control: {t}", st.text(max_size=20)),
    st.text(max_size=40),
)
md_scratch: st.SearchStrategy[bytes] = st.one_of(
    st.lists(_MD_LINE, max_size=12).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass")),
    st.lists(junk, max_size=8).map(b"".join),
)

toml_scratch: st.SearchStrategy[bytes] = st.lists(
    st.one_of(
        st.sampled_from(
            ["[backend]", 'profile = "ollama"', 'model = "m"', "timeout = -1", "[backend", "a.b = 1"]
        ),
        st.builds(lambda k, v: f"{k} = {json.dumps(v)}", st.text(max_size=8), scalars),
        st.text(max_size=20),
    ),
    max_size=8,
).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass"))
