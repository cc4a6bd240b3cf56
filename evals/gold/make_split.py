"""Split the labelled statements into train / dev / test, once, by source (see README.md).

Rows from the same source never straddle splits: a real statement's source is its page, merged with
every other page reporting the same delegation on the same day (two renderings of one press conference
are one source); a written statement's source is the writer's sitting (batch). Sources are taken in the
order of the SHA-256 of their key and each goes to the split furthest below its target share (45 / 20 /
35 %), for real and written statements separately, so both kinds are spread alike.

    python evals/gold/make_split.py real.jsonl written.jsonl --out evals/gold   # made the split (once)
    python evals/gold/make_split.py --check                                      # the split is reproducible

Statements not in English go to ``other-languages.jsonl`` (the shipped scorers read English only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
SPLITS = {"train": 0.45, "dev": 0.20, "test": 0.35}
FIELDS = (
    "id", "axis", "delegation", "level", "text", "kind", "source", "date", "speaker", "quote_type",
    "phenomenon", "confidence", "group", "note",
)  # fmt: skip
FOREIGN_WORDS = {"der", "die", "und", "das", "nicht", "sagte", "yang", "dan", "untuk", "dengan", "menyatakan"}


def is_english(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if letters and sum(ord(c) > 0x24F for c in letters) / len(letters) > 0.2:
        return False
    words = re.findall(r"[a-zäöüß]+", text.lower())
    return sum(w in FOREIGN_WORDS for w in words) < 2


def _url_key(url: str) -> str:
    parts = urlsplit(url.strip())
    return (parts.netloc.removeprefix("www.") + parts.path.rstrip("/")).lower()


def groups_of(rows: list[dict]) -> dict[str, str]:
    """Row id → source group key (union of same page, and same delegation on the same exact date)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for r in rows:
        if r.get("kind") == "written":
            union(r["id"], f"written:{r['batch']}")
            continue
        union(r["id"], f"page:{_url_key(r['source'])}")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(r.get("date", ""))):
            union(r["id"], f"day:{r['delegation']}:{r['date']}")
    roots = {r["id"]: find(r["id"]) for r in rows}
    names: dict[str, str] = {}
    for r in rows:  # a readable, stable name per group: its smallest member key
        names.setdefault(roots[r["id"]], "")
    for key in parent:
        root = find(key)
        if ":" in key and (not names.get(root) or key < names[root]):
            names[root] = key
    return {rid: names[root] for rid, root in roots.items()}


def _greedy(sizes: dict[str, int]) -> dict[str, str]:
    """Source key → split: sources in hash order, each to the split furthest below its share."""
    total = sum(sizes.values())
    filled = dict.fromkeys(SPLITS, 0)
    out: dict[str, str] = {}
    for key in sorted(sizes, key=lambda k: hashlib.sha256(k.encode()).hexdigest()):
        split = max(SPLITS, key=lambda s: SPLITS[s] - filled[s] / max(total, 1))
        out[key] = split
        filled[split] += sizes[key]
    return out


def assign(rows: list[dict], group: dict[str, str]) -> dict[str, str]:
    """Row id → split, for real and written statements separately."""
    out: dict[str, str] = {}
    for kind in ("real", "written"):
        sizes: dict[str, int] = {}
        for r in rows:
            if r["kind"] == kind:
                sizes[group[r["id"]]] = sizes.get(group[r["id"]], 0) + 1
        split_of = _greedy(sizes)
        out |= {r["id"]: split_of[group[r["id"]]] for r in rows if r["kind"] == kind}
    return out


def normalise(r: dict, group: str) -> dict:
    row = {k: r.get(k) for k in FIELDS}
    row["group"] = group
    if r.get("kind") == "written":
        row["source"] = f"written by hand for this corpus, sitting {r['batch']}"
    return {k: v for k, v in row.items() if v is not None or k == "level"}


def read(paths: Iterable[Path]) -> list[dict]:
    lines = (line for p in paths for line in p.read_text(encoding="utf-8").splitlines())
    return [json.loads(line) for line in lines if line.strip()]


def write(rows: list[dict], out: Path) -> dict[str, int]:
    english = [r for r in rows if is_english(r["text"])]
    other = [r for r in rows if not is_english(r["text"])]
    group = groups_of(rows)  # over every row: a statement in another language can join two sources
    split = assign(english, group)
    counts = {}
    for name in SPLITS:
        chosen = [normalise(r, group[r["id"]]) for r in english if split[r["id"]] == name]
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen))
        counts[name] = len(chosen)
    (out / "other-languages.jsonl").write_text(
        "".join(json.dumps(normalise(r, group[r["id"]]), ensure_ascii=False) + "\n" for r in other)
    )
    counts["other-languages"] = len(other)
    return counts


def check(folder: Path = HERE) -> list[str]:
    """Problems with the committed split: a row in the wrong split, or a source straddling splits."""
    problems = []
    rows = []
    for name in SPLITS:
        for r in read([folder / f"{name}.jsonl"]):
            rows.append((name, r))
    by_group: dict[str, set[str]] = {}
    for name, r in rows:
        by_group.setdefault(r["group"], set()).add(name)
    problems += [f"source {g} is in {sorted(s)}" for g, s in by_group.items() if len(s) > 1]
    # recompute the assignment from the groups the files record
    flat = [r for _, r in rows]
    expected = assign(flat, {r["id"]: r["group"] for r in flat})
    problems += [
        f"{r['id']}: in {n}, the procedure says {expected[r['id']]}"
        for n, r in rows
        if n != expected[r["id"]]
    ]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.check:
        problems = check(args.out)
        print("\n".join(problems) or "split ok")
        return 1 if problems else 0
    print(write(read(args.inputs), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
