"""The trainers' web room (``harness serve``): follow runs live, take a delegation's seat in the browser,
annotate a debate. Built on FastAPI and served by uvicorn; only ``harness serve`` imports it.

Modules: :mod:`~harness.web.app` (the application), :mod:`~harness.web.routes` (pages and API),
:mod:`~harness.web.registry` (the runs under ``--out``), :mod:`~harness.web.manager` (runs the server
drives), :mod:`~harness.web.seat` (the human seat), :mod:`~harness.web.live` (server-sent events from
the transcript), :mod:`~harness.web.forms` (request bodies), :mod:`~harness.web.security` (token, host
and origin checks, headers), :mod:`~harness.web.pages` (templates).
"""

from harness.web.app import RoomSettings, create_app

__all__ = ["RoomSettings", "create_app"]
