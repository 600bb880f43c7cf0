"""The HTTP connections `polku serve` accepts: a cap, a deadline for the request head, a size.

uvicorn's h11 protocol (the one `polku serve` runs: httptools is not
installed) leaves a fresh connection open for as long as the peer likes
before it sends a byte, and a request head that trickles in a line at a time
keeps it open for as long as the lines come. `GuardedH11Protocol` adds:

- a cap on the connections one worker holds (``POLKU_MAX_CONNECTIONS``):
  one over it is closed at once;
- a deadline for the request head (``POLKU_HEADER_TIMEOUT_SECONDS``),
  counted from the connection's opening and, on a kept-alive connection,
  from the first byte of each next request: a head not complete by then
  closes the connection;
- the idle time of a kept-alive connection between requests is uvicorn's
  ``timeout_keep_alive`` (``POLKU_IDLE_TIMEOUT_SECONDS``).

The head's size is bounded twice: h11 refuses a head that is still
incomplete past ``POLKU_MAX_HEADER_BYTES`` (400, connection closed), and
`api.middleware` answers 431 to a complete one over it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.settings import get_settings

logger = logging.getLogger(__name__)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap and a request-head deadline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.max_connections = settings.max_connections
        self.header_timeout = settings.header_timeout_seconds
        self.head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            logger.warning(
                "connection refused: this worker holds %d connections (POLKU_MAX_CONNECTIONS)",
                self.max_connections,
            )
            transport.close()
            return
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self.head_deadline is None and self.conn.their_state is h11.IDLE:
            self._await_head()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._head_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_received()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._head_received()
        self.head_deadline = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _head_received(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_too_slow(self) -> None:
        self.head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def server_options() -> dict[str, Any]:
    """uvicorn options for the connection limits of the settings."""
    settings = get_settings()
    return {
        "http": GuardedH11Protocol,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.idle_timeout_seconds,
    }
