"""``harness serve`` as a command: its help, the loopback default, and the token with --allow-remote."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from harness.cli import _register_all, app, main
from harness.cli.serve_cmds import is_loopback
from harness.testserver import FakeOpenAIServer
from harness.transcript import Run


def test_help_explains_loopback_and_token() -> None:
    _register_all()
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Loopback by default" in text and "127.0.0.1" in text
    assert "--allow-remote" in text and "token is required on every request" in text
    assert "HARNESS_WEB_TOKEN" in text and "X-Harness-Token" in text


def test_other_hosts_need_the_explicit_flag(capsys: Any) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert main(["serve", "--host", "0.0.0.0", "--port", "8765"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_allow_remote_generates_and_enforces_a_token(tmp_path: Path, room_factory: Any) -> None:
    room = room_factory(tmp_path, "--host", "0.0.0.0", "--allow-remote")
    assert httpx.get(f"{room.url}/api/runs").status_code == 401
    printed = room.stop()
    assert "warning" in printed
    token = re.search(r"\?token=([A-Za-z0-9_-]{16,})", printed)
    assert token, printed
    room = room_factory(tmp_path, "--host", "0.0.0.0", "--allow-remote", "--token", token.group(1))
    assert httpx.get(f"{room.url}/api/runs").status_code == 401
    ok = httpx.get(f"{room.url}/api/runs", headers={"x-harness-token": token.group(1)})
    assert ok.status_code == 200 and ok.json() == []
    first = httpx.get(f"{room.url}/?token={token.group(1)}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    room.stop()


def test_other_commands_do_not_import_fastapi() -> None:
    code = (
        "import sys, harness.cli as c; c._register_all(); "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'harness.web') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_clean_stop_leaves_the_run_resumable(
    tmp_path: Path, room_factory: Any, fake_server: FakeOpenAIServer
) -> None:
    """SIGTERM with a seat waiting and a page following it: the run ends ``interrupted`` and the
    restarted room offers the same pending turn."""
    room = room_factory(tmp_path)
    body = {"scenario": "smoke", "backend": "compatible", "base_url": fake_server.base_url}
    body |= {"model": "fake-model", "human": "ROK", "run_id": "web"}
    assert httpx.post(f"{room.url}/api/runs", json=body, timeout=60).status_code == 201

    def pending() -> list[str]:
        return [p["key"] for p in httpx.get(f"{room.url}/api/pending/web").json()]

    deadline = time.monotonic() + 30
    while not pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pending() == ["m1/caucus/ROK/r1/rok-mofa"]
    follower = threading.Thread(target=_follow, args=(f"{room.url}/api/stream/web?seat=ROK",), daemon=True)
    follower.start()
    time.sleep(0.5)
    started = time.monotonic()
    printed = room.stop()
    assert time.monotonic() - started < 20, printed  # an open live stream does not hold the server
    end = Run.load(tmp_path / "web").run_end()
    assert end is not None and end.status == "interrupted"
    room.start()
    assert pending() == ["m1/caucus/ROK/r1/rok-mofa"]
    assert httpx.get(f"{room.url}/api/runs").json()[0]["state"] == "interrupted"


def _follow(url: str) -> None:
    with contextlib.suppress(httpx.HTTPError), httpx.stream("GET", url, timeout=None) as s:
        for _ in s.iter_lines():
            pass


def test_readme_explains_the_room() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Trainers' web room", 1)[1].split("\n## ", 1)[0]
    for words in ("`127.0.0.1` (loopback) by default", "--allow-remote", "?token=", "X-Harness-Token", "409"):
        assert words in section, words
