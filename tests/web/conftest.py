"""Fixtures for the web room: runs waiting at a human seat (scripted fake model, no network), an app on
them (FastAPI's TestClient), and ``harness serve`` as a subprocess against the fake OpenAI-compatible
server for the browser tests."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.runner import RunInterrupted, RunRequest, start_run
from harness.schema import Sampling
from harness.testserver import FakeOpenAIServer
from tests.orchestrator.helpers import ROOT, SMOKE
from tests.report.conftest import browser, page  # noqa: F401  (headless Chromium fixtures)

SCENARIOS = ROOT / "scenarios"
CARD = {
    "answer_1": "We tell Beijing our intentions early and plainly.",
    "answer_2": "Commercial and US means only; no SDF on Korean soil.",
    "neo_level": "0",
    "neo_rationale": "Japanese troops on our soil are unacceptable to our public.",
    "china_messaging_level": "4",
    "china_messaging_rationale": "We will need Beijing after the crisis.",
    "territorial_level": "",
    "territorial_rationale": "Not our call.",
    "request_to": "JPN",
    "request": "Use civilian ferries from Busan.",
    "red_lines_invoked": "No foreign troops without National Assembly consent",
}


def make_waiting_run(
    out: Path, base_url: str, run_id: str = "seat", answers: dict[str, dict[str, Any]] | None = None
) -> Path:
    """A smoke run on the fake server with ROK's head seated; it stops at the first turn of that seat
    that ``answers`` (transcript key → resume value) does not cover."""
    from harness.llm.config import resolve_backend
    from harness.opening import opened_models

    def seat(payload: dict[str, Any]) -> dict[str, Any]:
        if payload["key"] in (answers or {}):
            return dict((answers or {})[payload["key"]])
        raise EOFError  # the trainee left: the run stops, resumable

    def play() -> None:
        req = RunRequest(
            scenario=SMOKE, out_root=out, run_id=run_id, sampling=Sampling(seed=3), human_seats=["ROK"]
        )
        with (
            opened_models(resolve_backend("compatible", base_url, "fake-model")) as opened,
            pytest.raises(RunInterrupted),
        ):
            asyncio.run(start_run(req, opened.models, human_io=seat))

    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright may hold an event loop in this thread
        pool.submit(play).result()
    return out / run_id


@pytest.fixture
def out_root(tmp_path: Path, fake_server: FakeOpenAIServer) -> Path:
    """A run folder root holding run ``seat``, waiting for ROK's first caucus turn."""
    out = tmp_path / "runs"
    make_waiting_run(out, fake_server.base_url)
    return out


@pytest.fixture
def client(out_root: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from harness.web import RoomSettings, create_app

    app = create_app(RoomSettings(out=out_root, scenarios=SCENARIOS))
    with TestClient(app, base_url="http://127.0.0.1:8765") as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Room:
    """``harness serve`` in a subprocess (started and killed by the tests)."""

    def __init__(self, out: Path, *extra: str) -> None:
        self.out = out
        self.port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[str] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> Room:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "OPENAI_"))}
        cmd = [sys.executable, "-m", "harness", "serve", "--port", str(self.port), "--out", str(self.out)]
        cmd += ["--scenarios", str(SCENARIOS), *self.extra]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"harness serve exited: {self.proc.stdout.read() if self.proc.stdout else ''}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("harness serve did not start")

    def kill(self) -> None:
        """SIGKILL: nothing is cleaned up (the run's checkpoints stay as they were)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> str:
        """SIGTERM (a clean stop); returns what the server printed."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        return self.proc.stdout.read() if self.proc.stdout else ""


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(latency_ms=20) as server:
        yield server


@pytest.fixture
def room_factory() -> Iterator[Any]:
    rooms: list[Room] = []

    def make(out: Path, *extra: str) -> Room:
        room = Room(out, *extra)
        rooms.append(room)
        return room.start()

    yield make
    for room in rooms:
        room.kill()
