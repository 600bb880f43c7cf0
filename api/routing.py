"""Routes whose large bodies are parsed and validated away from the event loop.

FastAPI parses a JSON body and validates it against the route's model on
the event loop, before the route runs. For the bodies a case system sends
(a few kilobytes) that is quicker than a hop to a thread. A body near the
size limit may take tens of milliseconds (thousands of fields, each with an
error), during which the worker answers nothing else, not even
`/health/live`. So a body over `LARGE_BODY_BYTES` is received on the loop
and then parsed, validated and answered by the route's own handler in a
worker thread, on an event loop of that thread's own; the loop of the
server keeps serving.

Only callers with a valid key get this far (`api.gate` checks the key
before the body is read).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Final

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

LARGE_BODY_BYTES: Final = 32 * 1024

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def is_large(request: Request) -> bool:
    """A body announced over `LARGE_BODY_BYTES`, or of unknown length (chunked)."""
    length = request.headers.get("content-length")
    if length is None:
        return "transfer-encoding" in request.headers
    return length.isdigit() and int(length) > LARGE_BODY_BYTES


class LargeBodiesOffLoop(APIRoute):
    """An `APIRoute` that handles a large body in a worker thread (see the module's text)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def route_handler(request: Request) -> Response:
            if not is_large(request):
                return await handler(request)
            await request.body()  # received here; the handler reads the kept copy
            return await run_in_threadpool(_run, handler, request)

        return route_handler


def _run(handler: Handler, request: Request) -> Response:
    return asyncio.run(handler(request))
