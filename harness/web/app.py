"""The web room's application: settings, the run registry and manager, error handling, the guard."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from harness.errors import ConfigError, HarnessError
from harness.web.manager import Conflict, RunManager
from harness.web.pages import STATIC, error_response
from harness.web.registry import Registry, UnknownRun
from harness.web.routes import router
from harness.web.seat import BadAnswer
from harness.web.security import Guard

log = logging.getLogger(__name__)


@dataclass
class RoomSettings:
    out: Path = Path("transcripts")
    """Root folder of run folders (its ``samples/`` sub-folder is listed too)."""
    scenarios: Path | None = None
    """A folder of scenario files a run can be started from, besides the bundled scenarios."""
    token: str | None = None
    """Required on every request when set (always set when bound beyond loopback)."""
    loopback: bool = True
    """Bound to a loopback address: requests must name a loopback host."""
    stopping: Callable[[], bool] = field(default=lambda: False)
    """True once the server is shutting down (live streams end)."""


def _first_error(exc: ValidationError | RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    parts = []
    for err in errors[:3]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return "; ".join(parts)


def _handlers(app: FastAPI) -> None:
    def path(request: Request) -> str:
        return str(request.url.path)

    def status_for(exc: Exception) -> tuple[int, str]:
        if isinstance(exc, HTTPException):
            return exc.status_code, str(exc.detail)
        if isinstance(exc, UnknownRun):
            return 404, f"no run {exc.args[0] if exc.args else ''} here"
        if isinstance(exc, Conflict):
            return 409, str(exc)
        if isinstance(exc, BadAnswer):
            return 422, str(exc)
        if isinstance(exc, RequestValidationError | ValidationError):
            return 422, _first_error(exc)
        if isinstance(exc, ConfigError | HarnessError):
            return 400, str(exc)
        log.error("internal error (%s)", type(exc).__name__, exc_info=exc)
        return 500, "internal error (see the server log)"

    async def handle(request: Request, exc: Exception) -> Response:
        status, message = status_for(exc)
        return error_response(status, message, path(request))

    for kind in (
        HTTPException,
        UnknownRun,
        Conflict,
        BadAnswer,
        RequestValidationError,
        ValidationError,
        HarnessError,
        Exception,
    ):
        app.add_exception_handler(kind, handle)


def create_app(settings: RoomSettings) -> FastAPI:
    registry = Registry(settings.out)
    manager = RunManager(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(manager.close)

    app = FastAPI(
        title="harness web room", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.manager = manager
    _handlers(app)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Guard, token=settings.token, loopback=settings.loopback, error=error_response)
    return app
