"""The room's guard, an ASGI middleware in front of every request.

- **Token** (required when the room is bound beyond loopback): an ``X-Harness-Token`` or
  ``Authorization: Bearer`` header, or the ``harness_room`` cookie, which a ``?token=…`` link sets before
  redirecting to the same page without the token (so it stays out of history, referrers and logs).
- **Host** (loopback rooms): only a loopback ``Host`` header is served, so a web page elsewhere cannot
  reach the room through DNS rebinding.
- **Origin**: a state-changing request from another origin is refused.
- **Headers**: a Content-Security-Policy (the served report keeps its own), ``nosniff``, no referrer,
  no framing, no caching of pages.
- **Log**: one line per request with method, path (never the query string) and status.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.web.pages import CSP

log = logging.getLogger("harness.web.access")

COOKIE = "harness_room"
HEADER = "x-harness-token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
OPEN_PATHS = frozenset({"/healthz"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):  # [::1]:8765
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        loopback: bool,
        error: Callable[[int, str, str], Response],
    ) -> None:
        self.app = app
        self.token = token
        self.loopback = loopback
        self.error = error

    def _token_ok(self, given: str | None) -> bool:
        return bool(given) and self.token is not None and secrets.compare_digest(given or "", self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = Headers(scope=scope)
        status_box: list[int] = [0]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"no-store"),
                ]
                if not path.startswith("/report/"):  # the report page carries its own CSP
                    extra.append((b"content-security-policy", CSP.encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        response = self._refuse(scope, path, method, headers)
        try:
            if response is not None:
                await response(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            log.info("%s %s %s", method, path, status_box[0] or "-")

    def _refuse(self, scope: Scope, path: str, method: str, headers: Headers) -> Response | None:
        """A response that ends the request here, or ``None`` to let it through."""
        if self.loopback and _hostname(headers.get("host", "")) not in LOOPBACK_NAMES:
            return self.error(400, "this room answers only on its loopback address", path)
        if method not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin and origin != "null" and urlsplit(origin).netloc != headers.get("host"):
                return self.error(403, "a request from another site was refused", path)
        if self.token is None or path in OPEN_PATHS:
            return None
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if "token" in query:
            if not self._token_ok(query.pop("token")):
                return self.error(401, "wrong token: use the link harness serve printed", path)
            rest = urlencode(query)
            target = path + (f"?{rest}" if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return response
        auth = headers.get("authorization", "")
        given: Any = headers.get(HEADER) or (auth[7:] if auth.lower().startswith("bearer ") else None)
        if self._token_ok(given) or self._token_ok(_cookie(headers, COOKIE)):
            return None
        return self.error(
            401,
            "this room needs its token: open the link harness serve printed (…/?token=…) "
            f"or send the {HEADER} header",
            path,
        )


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
