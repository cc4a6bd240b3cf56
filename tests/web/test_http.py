"""The web room over HTTP (FastAPI's TestClient): pages, clear 4xx answers to bad requests, one answer per
pending turn (409), the token, the host and origin checks, escaping."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.transcript import Run
from harness.web import RoomSettings, create_app
from tests.web.conftest import CARD, SCENARIOS

CAUCUS = "m1/caucus/ROK/r1/rok-mofa"
XSS = "<script>alert('seat')</script><img src=x onerror=alert(2)>"


def _wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def _pending(client: Any) -> list[dict[str, Any]]:
    r = client.get("/api/pending/seat", params={"delegation": "ROK"})
    assert r.status_code == 200
    return list(r.json())


def test_the_runs_list_describes_each_run_and_the_samples(out_root: Path) -> None:
    """A row carries what a trainer picks a run by: scenario, backend, status, moves, scorers, seats;
    the committed illustrative samples are listed and marked as samples."""
    from fastapi.testclient import TestClient

    sample = Path(__file__).resolve().parents[2] / "transcripts" / "samples" / "tsd-illustrative-a"
    shutil.copytree(sample, out_root / "samples" / sample.name)
    app = create_app(RoomSettings(out=out_root, scenarios=SCENARIOS))
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        rows = {r["ref"]: r for r in client.get("/api/runs").json()}
    seat = rows["seat"]
    assert (seat["scenario"], seat["status"], seat["human_seats"], seat["sample"]) == (
        "smoke",
        "interrupted",
        ["ROK"],
        False,
    )
    assert seat["model"].startswith("compatible") and seat["moves"] == 1 and seat["scores"] == []
    listed = rows["samples/tsd-illustrative-a"]
    assert listed["sample"] and listed["status"] == "completed" and listed["moves"] >= 2
    assert {"offline", "rules"} <= set(listed["scores"])


def test_pages_render_with_their_headers(client: Any) -> None:
    for url in ("/", "/runs/seat", "/seat/seat", "/seat/seat?delegation=ROK"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
    runs = client.get("/api/runs").json()
    assert [(r["ref"], r["state"], r["waiting"]) for r in runs] == [("seat", "interrupted", ["ROK"])]
    page = client.get("/").text
    assert "Take ROK's seat" in page and 'href="/seat/seat?delegation=ROK"' in page
    seat = client.get("/seat/seat").text
    assert f'data-pending="{CAUCUS}"' in seat
    assert "What will you tell Beijing about your intentions?" in seat  # the set questions
    assert "JSON" not in seat and "Answer with" not in seat  # never the model's prompt
    report = client.get("/report/seat")
    assert report.status_code == 200 and "content-security-policy" not in report.headers
    assert "Content-Security-Policy" in report.text  # the report's own policy


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "says"),
    [
        ("get", "/runs/nope", None, 404, "no run nope"),
        ("get", "/api/pending/nope", None, 404, "no run nope"),
        ("get", "/runs/..%2F..%2Fetc", None, 404, ""),
        ("get", "/seat/seat?delegation=JPN", None, 404, "not a human seat"),
        ("get", "/api/stream/seat?seat=XX", None, 404, "no delegation XX"),
        ("post", "/api/answer/seat", {"text": "hi"}, 422, "key: Field required"),
        ("post", "/api/answer/seat", {"key": CAUCUS, "text": "hi", "extra": 1}, 422, "extra: Extra inputs"),
        ("post", "/api/answer/seat", {"key": CAUCUS, "text": "   "}, 422, "this turn takes text"),
        ("post", "/api/answer/seat", {"key": CAUCUS, "card": CARD}, 422, "this turn takes text"),
        ("post", "/api/answer/seat", {"key": CAUCUS, "text": "x" * 4001}, 422, "at most 4000"),
        ("post", "/api/answer/seat", {"key": "m9/nothing", "text": "hi"}, 409, "not waiting"),
        ("post", "/api/runs", {"scenario": "nope.yaml"}, 422, "unknown scenario"),
        ("post", "/api/runs", {"scenario": "smoke", "backend": "nope"}, 422, "unknown backend"),
        (
            "post",
            "/api/runs",
            {"scenario": "smoke", "backend": "ollama", "model": "m", "human": "XX"},
            400,
            "no delegation XX",
        ),
        ("post", "/api/runs", {"scenario": "smoke", "run_id": "seat"}, 409, "already exists"),
        ("post", "/api/runs", {"scenario": "smoke", "run_id": "../x"}, 422, "run_id"),
        ("post", "/api/runs", {"scenario": "smoke", "seed": "abc"}, 422, "seed"),
        ("post", "/api/notes/seat", {"target": CAUCUS, "tag": ""}, 422, "tag"),
        ("post", "/api/notes/seat", {"target": "m1/inject", "tag": "x"}, 400, "no utterance or position"),
        ("post", "/api/resume/nope", {}, 404, "no run nope"),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    client: Any, method: str, url: str, body: dict[str, Any] | None, status: int, says: str
) -> None:
    r = client.request(method.upper(), url, json=body) if body is not None else client.get(url)
    assert r.status_code == status, r.text[:500]
    assert "Traceback" not in r.text and 'File "' not in r.text
    if url.startswith("/api/"):
        assert says in r.json()["error"]
    else:
        assert says in r.text and "<h1>" in r.text


def test_malformed_json_is_a_422(client: Any) -> None:
    r = client.post("/api/answer/seat", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()


def test_bad_card_fields_name_the_field(client: Any, out_root: Path, fake_server: Any) -> None:
    from tests.web.conftest import make_waiting_run

    make_waiting_run(out_root, fake_server.base_url, run_id="card", answers={CAUCUS: {"text": "We hold."}})
    pending = client.get("/api/pending/card").json()
    assert [p["key"] for p in pending] == ["m1/card/ROK"]
    for card, says in (
        ({**CARD, "neo_level": "7"}, "neo_level: choose one of 0, 1, 2, 3, 4"),
        ({**CARD, "request_to": "ROK"}, "request_to: choose one of US, JPN"),
        ({**CARD, "bogus": "x"}, "bogus: not a field of this card"),
        ({**CARD, "answer_1": "x" * 2001}, "answer_1: at most 2000 characters"),
    ):
        r = client.post("/api/answer/card", json={"key": "m1/card/ROK", "card": card})
        assert r.status_code == 422 and says in r.json()["error"], r.text
    assert client.get("/api/pending/card").json()[0]["key"] == "m1/card/ROK"  # nothing was taken


def test_one_answer_per_pending_turn(client: Any, out_root: Path) -> None:
    """Two browsers answer the same turn at once: one is taken, the other gets 409 with a message."""
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def answer(text: str) -> None:
        barrier.wait()
        results.append(client.post("/api/answer/seat", json={"key": CAUCUS, "text": text}))

    threads = [threading.Thread(target=answer, args=(t,)) for t in ("first browser", "second browser")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [202, 409]
    conflict = next(r for r in results if r.status_code == 409)
    assert "already been answered" in conflict.json()["error"]
    # the run resumed from its checkpoints with the accepted answer and now waits for the card
    assert _wait_for(lambda: [p["key"] for p in _pending(client)] == ["m1/card/ROK"])
    run = Run.load(out_root / "seat")
    said = next(e for e in run.utterances() if e.key == CAUCUS)
    assert said.author == "human" and said.text in ("first browser", "second browser")
    late = client.post("/api/answer/seat", json={"key": CAUCUS, "text": "third"})
    assert late.status_code == 409 and "already been answered" in late.json()["error"]


def test_the_seat_is_played_to_the_end_over_http(client: Any, out_root: Path) -> None:
    assert client.post("/api/answer/seat", json={"key": CAUCUS, "text": XSS}).status_code == 202
    _wait_for(lambda: [p["key"] for p in _pending(client)] == ["m1/card/ROK"])
    seat = client.get("/seat/seat").text
    assert XSS not in seat and "&lt;script&gt;alert(&#39;seat&#39;)&lt;/script&gt;" in seat  # own caucus
    assert 'type="radio" name="neo_level" value="0"' in seat  # the card form with its anchors
    assert "Civilian/commercial means only" in seat
    assert client.post("/api/answer/seat", json={"key": "m1/card/ROK", "card": CARD}).status_code == 202
    for key in (
        "m1/plenary/ROK/report",
        "m1/plenary/ROK/r1/question",
        "m1/plenary/ROK/r1/answer",
        "hotwash/ROK",
    ):
        _wait_for(lambda k=key: [p["key"] for p in _pending(client)] == [k])
        assert client.post("/api/answer/seat", json={"key": key, "text": f"said at {key}"}).status_code == 202
    _wait_for(lambda: client.get("/api/runs").json()[0]["state"] == "completed")
    run = Run.load(out_root / "seat")
    human = {e.key for e in run.events if getattr(e, "author", None) == "human"}
    assert human == {
        CAUCUS,
        "m1/card/ROK",
        "m1/plenary/ROK/report",
        "m1/plenary/ROK/r1/question",
        "m1/plenary/ROK/r1/answer",
        "hotwash/ROK",
    }
    card = next(c for c in run.cards() if c.delegation == "ROK").card
    assert {s.axis: s.level for s in card.stances} == {"neo": 0, "china_messaging": 4, "territorial": None}
    # the report and the live page escape the payload; the note on it too
    note = client.post("/api/notes/seat", json={"target": CAUCUS, "tag": "key moment", "note": XSS})
    assert note.status_code == 201
    report = client.get("/report/seat").text
    assert XSS not in report and "&lt;script&gt;alert(&#39;seat&#39;)&lt;/script&gt;" in report
    assert [n["note"] for n in client.get("/api/notes/seat").json()] == [
        XSS
    ]  # JSON: the page uses textContent


def test_token_is_required_when_set(out_root: Path) -> None:
    from fastapi.testclient import TestClient

    token = "t" * 24
    app = create_app(RoomSettings(out=out_root, scenarios=SCENARIOS, token=token, loopback=False))
    with TestClient(app, base_url="http://room.example:8765", follow_redirects=False) as c:
        assert c.get("/healthz").status_code == 200
        for url in ("/", "/api/runs", "/seat/seat", "/report/seat", "/static/room.js"):
            r = c.get(url)
            assert r.status_code == 401, url
            assert token not in r.text
        assert "needs its token" in c.get("/api/runs").json()["error"]
        assert c.get("/api/runs", headers={"x-harness-token": "wrong" * 5}).status_code == 401
        assert c.get("/api/runs", headers={"x-harness-token": token}).status_code == 200
        assert c.get("/api/runs", headers={"authorization": f"Bearer {token}"}).status_code == 200
        assert c.post("/api/notes/seat", json={"target": CAUCUS, "tag": "x"}).status_code == 401
        # a ?token= link sets the cookie and drops the token from the address
        r = c.get(f"/seat/seat?delegation=ROK&token={token}")
        assert r.status_code == 303 and r.headers["location"] == "/seat/seat?delegation=ROK"
        assert (
            "httponly" in r.headers["set-cookie"].lower()
            and "samesite=strict" in r.headers["set-cookie"].lower()
        )
        assert c.get("/seat/seat?delegation=ROK").status_code == 200  # the cookie now
        assert token not in c.get("/seat/seat?delegation=ROK").text
        assert c.get(f"/?token={'x' * 24}").status_code == 401


def test_loopback_room_refuses_other_hosts_and_sites(client: Any) -> None:
    assert client.get("/api/runs", headers={"host": "attacker.example"}).status_code == 400
    assert client.get("/api/runs", headers={"host": "localhost:8765"}).status_code == 200
    r = client.post(
        "/api/notes/seat", json={"target": CAUCUS, "tag": "x"}, headers={"origin": "http://attacker.example"}
    )
    assert r.status_code == 403 and "another site" in r.json()["error"]


def test_no_secret_in_pages(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The room shows the backend's profile, model and URL, never a key."""
    key = "sk-test-" + "9" * 32
    monkeypatch.setenv("HARNESS_API_KEY", key)
    for url in ("/", "/runs/seat", "/seat/seat", "/report/seat", "/api/runs", "/api/pending/seat"):
        assert key not in client.get(url).text
    # a base URL typed in the page is refused while the profile's key is set (it would be sent there)
    r = client.post(
        "/api/runs",
        json={
            "scenario": "smoke",
            "backend": "compatible",
            "base_url": "http://127.0.0.1:9/v1",
            "model": "m",
        },
    )
    assert r.status_code == 400 and "key" in r.json()["error"] and key not in r.text


def test_stream_sends_the_transcript_then_the_state(out_root: Path) -> None:
    from fastapi.testclient import TestClient

    deadline = [0.0]
    settings = RoomSettings(
        out=out_root, scenarios=SCENARIOS, stopping=lambda: time.monotonic() > deadline[0]
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8765") as c:
        deadline[0] = time.monotonic() + 1.0
        body = c.get("/api/stream/seat?seat=ROK").text
        deadline[0] = time.monotonic() + 1.0
        full = c.get("/api/stream/seat").text
        deadline[0] = time.monotonic() + 1.0
        lines = (out_root / "seat" / "transcript.jsonl").read_bytes().splitlines(keepends=True)
        offset = sum(len(x) for x in lines[:3])
        rest = c.get("/api/stream/seat", headers={"last-event-id": str(offset)}).text

    def events(text: str) -> list[dict[str, Any]]:
        return [json.loads(b.split("data: ", 1)[1]) for b in text.split("\n\n") if b.startswith("id: ")]

    seen = events(body)
    assert seen and all(e["event"] != "manifest" for e in seen)
    assert not [
        e for e in seen if e["event"] == "utterance" and e["channel"] == "caucus" and e["delegation"] != "ROK"
    ]
    assert '"pending": ["m1/caucus/ROK/r1/rok-mofa"]' in body
    everything = events(full)
    assert len(everything) == len(lines)
    assert any(e["event"] == "utterance" and e["delegation"] == "US" for e in everything)
    assert [e["key"] for e in events(rest)] == [e["key"] for e in everything[3:]]
