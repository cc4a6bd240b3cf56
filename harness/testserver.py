"""A small OpenAI-compatible FAKE server for tests and benchmarks (stdlib only, threaded).

In process::

    with FakeOpenAIServer(latency_ms=20, script=["429:7", "ok"]) as server:
        model = OpenAIChatModel(config.with_endpoint(server.base_url))
        ...
        server.chat_count  # requests to /v1/chat/completions

As a process (prints ``READY http://127.0.0.1:PORT/v1`` on stdout when listening)::

    python -m harness.testserver --port 0 --latency-ms 50 --latency-sd-ms 10 --tokens-per-s 80 \
        --fault-rate 0.05 --faults 429,500,malformed

Endpoints: ``GET /v1/models``, ``GET /stats`` (counters as JSON), ``POST /v1/chat/completions`` with
``response_format`` ``json_schema`` (strict schemas are checked like OpenAI does), ``json_object`` (with or
without ``schema``) or plain text. Answers are deterministic given the request (messages, seed, format,
model): structured ones are valid instances of the schema. ``usage`` is always returned.

Faults, scripted (consumed in order, one per chat request) or drawn at ``fault_rate`` from ``faults``:
``ok``, ``429[:retry_after_s]``, ``503[:retry_after_s]``, ``500``, any other status code (``401``, ``404``…),
``malformed`` (HTTP 200 with a truncated JSON body), ``badjson`` (a well-formed response whose message
content is not JSON), ``hang[:seconds]`` (answer normally after a long pause: client timeouts) and
``drop`` (close the connection without an answer).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from harness.llm.fake import approx_tokens, instance_from_schema

log = logging.getLogger(__name__)

Responder = Callable[[dict[str, Any]], "str | None"]
"""In-process hook: given the request body, return the message content (``None``: the default)."""


@dataclass
class ServerSettings:
    model: str = "fake-model"
    latency_ms: float = 0.0
    latency_sd_ms: float = 0.0
    """Standard deviation of a normal latency distribution around ``latency_ms`` (clipped at 0)."""
    tokens_per_s: float | None = None
    """Adds completion_tokens / tokens_per_s seconds to every answer."""
    fault_rate: float = 0.0
    faults: tuple[str, ...] = ("429", "500", "malformed")
    retry_after_s: float = 1.0
    script: list[str] = field(default_factory=list)
    seed: int = 0
    responder: Responder | None = None


def check_fault(spec: str) -> str:
    """Validate a fault spec (see the module doc); returns it or raises ValueError."""
    name, _, arg = spec.partition(":")
    try:
        if name in ("ok", "malformed", "badjson", "drop"):
            ok = not arg
        elif name == "hang":
            ok = float(arg or 30) >= 0
        else:
            ok = 400 <= int(name) <= 599 and (not arg or float(arg) >= 0)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"bad fault {spec!r}: use ok, malformed, badjson, drop, hang[:s] or an HTTP status[:retry_after]"
        )
    return spec


def _strict_problem(node: Any, path: str = "#") -> str | None:
    """What OpenAI's strict mode would reject in a schema, or None."""
    if isinstance(node, list):
        for i, sub in enumerate(node):
            found = _strict_problem(sub, f"{path}/{i}")
            if found:
                return found
        return None
    if not isinstance(node, dict):
        return None
    if node.get("type") == "object" or "properties" in node:
        if node.get("additionalProperties") is not False:
            return f"'additionalProperties' is required to be supplied and to be false at {path}"
        missing = sorted(set(node.get("properties", {})) - set(node.get("required", [])))
        if missing:
            return f"'required' must list every property at {path}; missing {missing}"
    for key, sub in node.items():
        if key in ("properties", "$defs", "definitions") and isinstance(sub, dict):
            for name, child in sub.items():
                found = _strict_problem(child, f"{path}/{key}/{name}")
                if found:
                    return found
        elif key in ("items", "anyOf", "oneOf", "allOf", "prefixItems", "not"):
            found = _strict_problem(sub, f"{path}/{key}")
            if found:
                return found
    return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (killed, timed out) is routine here, not a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("testserver: client %s went away", client_address)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("testserver: " + format, *args)

    def _send(self, status: int, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        kind = (
            "rate_limit_error"
            if status == 429
            else "invalid_request_error"
            if status < 500
            else "server_error"
        )
        self._send(status, {"error": {"message": message, "type": kind, "code": status}}, headers)

    def do_GET(self) -> None:
        fake = self.server.fake
        fake._count(chat=False)
        path = self.path.split("?")[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            self._send(
                200,
                {
                    "object": "list",
                    "data": [{"id": fake.settings.model, "object": "model", "owned_by": "test"}],
                },
            )
        elif path == "/stats":
            self._send(200, fake.stats())
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0].rstrip("/")
        if path not in ("/v1/chat/completions", "/chat/completions"):
            fake._count(chat=False)
            self._error(404, f"no route {self.path}")
            return
        fake._count(chat=True)
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                raise ValueError("'messages' must be a list")
        except ValueError as exc:
            self._error(400, f"invalid request body: {exc}")
            return
        fake._record(body, {k.lower(): v for k, v in self.headers.items()})
        fault = fake._next_fault()
        name, _, arg = fault.partition(":")
        if name == "hang":
            time.sleep(float(arg or 30))
        elif name == "drop":  # the connection closes with no status line: the client sees a disconnect
            self.close_connection = True
            return
        elif name not in ("ok", "malformed", "badjson"):
            status = int(name)
            headers = {}
            if status in (429, 503):
                headers["retry-after"] = arg or f"{fake.settings.retry_after_s:g}"
            self._error(status, f"injected fault {fault}", headers)
            return
        if name == "malformed":
            self._send(200, b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess')
            return
        if body.get("stream"):
            self._error(400, "streaming is not supported by the test server")
            return
        try:
            answer = fake.answer(body, broken=name == "badjson")
        except ValueError as exc:
            self._error(400, str(exc))
            return
        time.sleep(fake._delay_s(answer["usage"]["completion_tokens"]))
        self._send(200, answer)


class FakeOpenAIServer:
    """The server, run on a background thread; a context manager. Counters are thread-safe."""

    def __init__(
        self,
        settings: ServerSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **overrides: Any,
    ) -> None:
        self.settings = settings or ServerSettings()
        for name, value in overrides.items():
            if not hasattr(self.settings, name):
                raise TypeError(f"unknown test server setting {name!r}")
            setattr(self.settings, name, value)
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        for fault in (*self.settings.script, *self.settings.faults):
            check_fault(fault)
        self._script: deque[str] = deque(self.settings.script)
        self._rng = random.Random(self.settings.seed)
        self.request_count = 0
        self.chat_count = 0
        self.faults_sent: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        """Bodies of the chat requests, in arrival order."""
        self.request_headers: list[dict[str, str]] = []
        """Their headers (lower-cased names), for tests that check what was sent."""
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- behaviour ---------------------------------------------------------------------------------

    def push_script(self, *faults: str) -> None:
        for fault in faults:
            check_fault(fault)
        with self._lock:
            self._script.extend(faults)

    def _count(self, *, chat: bool) -> None:
        with self._lock:
            self.request_count += 1
            self.chat_count += int(chat)

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(headers)

    def _next_fault(self) -> str:
        with self._lock:
            if self._script:
                fault = self._script.popleft()
            elif self.settings.fault_rate and self._rng.random() < self.settings.fault_rate:
                fault = self._rng.choice(self.settings.faults)
            else:
                fault = "ok"
            if fault != "ok":
                self.faults_sent[fault] = self.faults_sent.get(fault, 0) + 1
            return fault

    def _delay_s(self, completion_tokens: int) -> float:
        s = self.settings
        with self._lock:
            latency = s.latency_ms + (self._rng.gauss(0.0, s.latency_sd_ms) if s.latency_sd_ms else 0.0)
        delay = max(0.0, latency) / 1000.0
        if s.tokens_per_s:
            delay += completion_tokens / s.tokens_per_s
        return delay

    def answer(self, body: dict[str, Any], *, broken: bool = False) -> dict[str, Any]:
        """The chat.completion for ``body`` (deterministic given messages, seed, format and model)."""
        messages = body["messages"]
        fmt = body.get("response_format") or {}
        digest = hashlib.sha256(
            json.dumps([messages, body.get("seed"), fmt, body.get("model")], sort_keys=True).encode()
        ).hexdigest()
        rng = random.Random(int(digest[:16], 16))
        finish = "stop"
        text = self.settings.responder(body) if self.settings.responder else None
        if text is None and broken:
            text = '{"this is": not json'
        if text is None:
            text, finish = self._content(
                fmt, messages, rng, body.get("max_tokens") or body.get("max_completion_tokens")
            )
        prompt = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        usage = {"prompt_tokens": approx_tokens(prompt), "completion_tokens": approx_tokens(text)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return {
            "id": f"chatcmpl-{digest[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.settings.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }

    def _content(
        self, fmt: dict[str, Any], messages: list[Any], rng: random.Random, max_tokens: int | None
    ) -> tuple[str, str]:
        kind = fmt.get("type", "text")
        if kind == "json_schema":
            spec = fmt.get("json_schema") or {}
            if not spec.get("name") or not isinstance(spec.get("schema"), dict):
                raise ValueError("response_format.json_schema needs 'name' and 'schema'")
            if spec.get("strict"):
                problem = _strict_problem(spec["schema"])
                if problem:
                    raise ValueError(f"Invalid schema for response_format '{spec['name']}': {problem}")
            return json.dumps(instance_from_schema(spec["schema"], rng)), "stop"
        if kind == "json_object":
            schema = fmt.get("schema")
            value = (
                instance_from_schema(schema, rng)
                if isinstance(schema, dict)
                else {"answer": f"ok {rng.randint(100, 999)}"}
            )
            return json.dumps(value), "stop"
        if kind != "text":
            raise ValueError(f"unsupported response_format type {kind!r}")
        last = messages[-1].get("content", "") if messages and isinstance(messages[-1], dict) else ""
        words = f"Fake reply {rng.randint(1000, 9999)} to: {' '.join(str(last).split()[:12])}".split()
        if max_tokens is not None and approx_tokens(" ".join(words)) > max_tokens:
            while len(words) > 1 and approx_tokens(" ".join(words)) > max_tokens:
                words.pop()
            return " ".join(words), "length"
        return " ".join(words), "stop"

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.request_count,
                "chat_requests": self.chat_count,
                "faults": dict(self.faults_sent),
                "script_left": len(self._script),
            }

    def reset_counts(self) -> None:
        with self._lock:
            self.request_count = self.chat_count = 0
            self.faults_sent.clear()
            self.requests.clear()
            self.request_headers.clear()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.fake = self
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"testserver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        thread, self._thread = self._thread, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.testserver", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-sd-ms", type=float, default=0.0)
    parser.add_argument("--tokens-per-s", type=float, default=None)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", type=_csv, default=["429", "500", "malformed"])
    parser.add_argument("--retry-after", type=float, default=1.0, help="seconds sent with injected 429/503")
    parser.add_argument(
        "--script", type=_csv, default=[], help="comma-separated faults for the first requests"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error("--fault-rate must be within 0..1")
    for fault in (*args.script, *args.faults):
        try:
            check_fault(fault)
        except ValueError as exc:
            parser.error(str(exc))
    settings = ServerSettings(
        model=args.model,
        latency_ms=args.latency_ms,
        latency_sd_ms=args.latency_sd_ms,
        tokens_per_s=args.tokens_per_s,
        fault_rate=args.fault_rate,
        faults=tuple(args.faults),
        retry_after_s=args.retry_after,
        script=args.script,
        seed=args.seed,
    )
    server = FakeOpenAIServer(settings, host=args.host, port=args.port).start()

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    sys.stdout.write(f"READY {server.base_url}\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
