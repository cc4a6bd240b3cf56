"""Shared by the benchmark scripts: the machine, a fake server in its own process, results.md sections."""

from __future__ import annotations

import argparse
import copy
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.md"
DEFAULT = ROOT / "scenarios" / "tsd-2016-nk-crisis.yaml"
SMOKE = ROOT / "scenarios" / "smoke.yaml"
PERSONAS = ROOT / "personas"
RUBRICS = ROOT / "evals" / "rubrics"


def machine() -> str:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"`uname -m` {platform.machine()} · `nproc` {os.cpu_count()} · memory "
        f"{mem_kb / 1024 / 1024:.1f} GiB · "
        f"Python {platform.python_version()}" + (f" · {cpu}" if cpu else "")
    )


@contextmanager
def fake_server(*args: str) -> Iterator[str]:
    """``python -m harness.testserver`` in its own process (its threads never compete with the harness
    for the GIL); yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.testserver", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("READY "):
            raise RuntimeError(f"fake server did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def long_scenario(dest_dir: Path, n_moves: int, src: Path = DEFAULT) -> Path:
    """A scenario (default: the default one) with ``n_moves`` moves, its moves repeated in order, no
    branches and no expected findings, written to ``dest_dir/scenarios/`` (hand-made data for benchmarks
    and tests: its personas and rubrics come from the bundled defaults)."""
    data = yaml.safe_load(src.read_text())
    base = data["moves"]
    moves = []
    for i in range(n_moves):
        m = copy.deepcopy(base[i % len(base)])
        m["id"] = f"x{i + 1}"
        m["title"] = f"{m['title']} (phase {i + 1})"
        m["branches"] = []
        moves.append(m)
    data["moves"] = moves
    data.pop("expected_findings", None)  # they name the original moves, renamed here
    data["id"] = f"long-{n_moves}"
    dest = dest_dir / "scenarios" / f"long-{n_moves}.yaml"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def write_section(name: str, body: str) -> None:
    """Replace (or append) the ``name`` section of bench/results.md, keeping the others."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else _HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"{start}\n{body.rstrip()}\n\n_Written {stamp}._\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    text = (
        pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    RESULTS.write_text(text.rstrip() + "\n", encoding="utf-8")


Section = tuple[str, str]  # (name in results.md, markdown)
Bench = Callable[[Path, argparse.Namespace], Section]


def run_selected(
    parser: argparse.ArgumentParser, benches: Mapping[str, Bench], argv: list[str] | None, label: str
) -> int:
    """Parse ``argv`` (the parser has ``--only`` and ``--no-write``), run the chosen benchmarks in a
    scratch folder in order, print each one's time and replace its section of bench/results.md."""
    args = parser.parse_args(argv)
    chosen = [b.strip().upper() for b in args.only.split(",") if b.strip()]
    unknown = [b for b in chosen if b not in benches]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"harness-{label}-") as tmp:
        for name in chosen:
            t0 = time.perf_counter()
            section, body = benches[name](Path(tmp), args)
            print(f"{name} done in {time.perf_counter() - t0:.0f} s")
            if not args.no_write:
                write_section(section, body)
    print(f"{label}: {', '.join(chosen)} in {time.perf_counter() - started:.0f} s; see bench/results.md")
    return 0


_HEADER = """# Benchmarks

`make bench` (B1–B5, the fake OpenAI-compatible server `python -m harness.testserver`; no model) and
`make bench-embedded` (B6, the real embedded SmolLM2 model) write their sections of this file. Each
section names the command that produced it and the machine it ran on. Figures vary from run to run by a
few per cent; the targets come from issue 7.
"""
