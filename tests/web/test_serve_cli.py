"""``harness serve`` as a command: its help, the loopback default, and the token with --allow-remote."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from harness.cli import _register_all, app, main
from harness.cli.serve_cmds import is_loopback


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
