"""Whole-process measurements for B2 and the start-up section (issue 14): ``harness`` as a user runs it,
in its own process, timed from outside (Linux: the child's CPU is read from ``/proc/PID/stat`` at the
fake server's first request, and from ``wait4`` at exit).

    .venv/bin/python -m bench._overhead          # prints one measurement of each (no results.md)

Each figure is shown beside the previous one (read back from bench/results.md before its section is
rewritten; the first time, the figure issue 14 measured) and the target.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import DEFAULT, RESULTS, ROOT
from harness.testserver import FakeOpenAIServer

HARNESS = [sys.executable, "-m", "harness"]
_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process, all its threads (1/CLK_TCK resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime: fields 14 and 15 of stat(5)


def _wait_cpu(proc: subprocess.Popen[Any]) -> tuple[int, float]:
    """Reap ``proc``; its exit status and user + system CPU seconds (rusage, microseconds)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


@dataclass
class Timed:
    wall_s: float
    cpu_s: float


def help_once() -> Timed:
    """``harness --help``: wall time from spawn to exit and the process's CPU."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*HARNESS, "--help"], stdout=subprocess.DEVNULL, cwd=ROOT)
    rc, cpu = _wait_cpu(proc)
    wall = time.perf_counter() - t0
    if rc != 0:
        raise RuntimeError(f"harness --help exited {rc}")
    return Timed(wall, cpu)


@dataclass
class WholeRun:
    calls: int
    first_call_s: float
    """Wall seconds from spawning ``harness run`` to the fake server receiving the first chat request."""
    cpu_at_first_s: float
    """The process's CPU seconds at that moment (start-up: imports, loading, graph build)."""
    cpu_total_s: float
    wall_s: float

    @property
    def cpu_per_call_ms(self) -> float:
        """CPU per model call with start-up excluded: (CPU at exit − CPU at the first call) ÷ calls."""
        return (self.cpu_total_s - self.cpu_at_first_s) / self.calls * 1000


def run_once(scenario: Path = DEFAULT, latency_ms: float = 0.0) -> WholeRun:
    """``harness run SCENARIO`` (quiet) against the fake server answering after ``latency_ms`` (default at
    once), in this process on a thread; the harness in its own process."""
    pid: list[int] = []
    first: list[tuple[float, float]] = []
    lock = threading.Lock()

    def responder(body: dict[str, Any]) -> None:
        with lock:
            if not first and pid:
                first.append((time.perf_counter(), _proc_cpu(pid[0])))

    with (
        FakeOpenAIServer(latency_ms=latency_ms, responder=responder) as server,
        tempfile.TemporaryDirectory(prefix="bench-whole-") as tmp,
    ):
        cmd = [
            *HARNESS,
            "run",
            str(scenario),
            "--backend",
            "compatible",
            "--base-url",
            server.base_url,
            "--model",
            "fake-model",
            "--seed",
            "1",
            "--quiet",
            "--out",
            tmp,
            "--run-id",
            "whole",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HARNESS_"))}
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, cwd=tmp, env=env)
        with lock:
            pid.append(proc.pid)
        rc, cpu = _wait_cpu(proc)
        wall = time.perf_counter() - t0
        if rc != 0 or not first:
            raise RuntimeError(f"harness run exited {rc} after {server.chat_count} calls")
        return WholeRun(
            calls=server.chat_count,
            first_call_s=first[0][0] - t0,
            cpu_at_first_s=first[0][1],
            cpu_total_s=cpu,
            wall_s=wall,
        )


REFERENCE = "import langgraph.graph, openai"
"""A fixed workload outside the harness's code: the machine's speed now, to read figures across runs."""


def reference_cpu(n: int = 3) -> float:
    """Median CPU seconds of a fresh interpreter up to the end of :data:`REFERENCE` (its exit excluded,
    as in the figure it is compared with)."""
    code = f"{REFERENCE}; import time; print(time.process_time())"
    cpus = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
            ).stdout
        )
        for _ in range(n)
    ]
    return statistics.median(cpus)


def help_runs(n: int) -> list[Timed]:
    help_once()  # warm the file cache
    return [help_once() for _ in range(n)]


def whole_runs(n: int) -> list[WholeRun]:
    return [run_once() for _ in range(n)]


def median(values: list[float]) -> float:
    return statistics.median(values)


def load_note(before: float, after: float) -> str:
    return (
        f"Load average {before:.1f} before and {after:.1f} after, on {os.cpu_count()} cores (other "
        "processes share this machine: wall figures suffer more from that than CPU figures)."
    )


# ------------------------------------------------------------------------------------------------
# Previous figures
# ------------------------------------------------------------------------------------------------


def previous_figures(section: str) -> dict[str, str]:
    """``row label -> value`` of the tables in ``section`` of bench/results.md as last written."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    match = re.search(rf"<!-- bench:{section} -->(.*?)<!-- /bench:{section} -->", text, re.DOTALL)
    out: dict[str, str] = {}
    for line in (match.group(1) if match else "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and not set(cells[1]) <= {"-"}:
            out[cells[0]] = cells[1].replace("*", "")
    return out


def figure_row(
    label: str, value: float, unit_digits: int, target: str, previous: dict[str, str], seed: str
) -> list[object]:
    """``[label, **value**, previous, value ÷ previous, target]``; ``seed`` stands in for a previous
    figure that results.md does not have yet."""
    shown = f"{value:.{unit_digits}f}"
    before = previous.get(label, seed)
    try:
        ratio = f"{value / float(before):.2f}×"
    except (ValueError, ZeroDivisionError):
        ratio = "—"
    return [label, f"**{shown}**", before, ratio, target]


FIGURE_HEADER = ["figure", "now", "previous", "now ÷ previous", "target"]


if __name__ == "__main__":
    print(help_once())
    r = run_once()
    print(r, f"cpu/call {r.cpu_per_call_ms:.2f} ms")
