"""Whole-process measurements for B2 and the start-up section: ``harness`` as a user runs it, in its own
process, timed from outside (Linux: the child's CPU is read from ``/proc/PID/stat`` and ``wait4``).

    .venv/bin/python -m bench._overhead          # prints one measurement of each (no results.md)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import DEFAULT, ROOT
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


if __name__ == "__main__":
    print(help_once())
    r = run_once()
    print(r, f"cpu/call {r.cpu_per_call_ms:.2f} ms")
