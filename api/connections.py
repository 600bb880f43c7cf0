"""The HTTP connections `polku serve` accepts: a cap, a deadline for the request head, a size.

uvicorn's HTTP protocols leave a fresh connection open for as long as the
peer likes before it sends a byte, let a request head that trickles in a
line at a time keep it open for as long as the lines come, and (httptools,
the one `polku serve` runs when it is installed) take a head of any size.
The protocols here add, to httptools (`polku serve`: uvicorn[standard]
installs it) and to h11 (`GuardedH11Protocol`, for a setup without it):

- a cap on the connections one worker holds (``POLKU_MAX_CONNECTIONS``):
  one over it is closed at once;
- a deadline for the request head (``POLKU_HEADER_TIMEOUT_SECONDS``),
  counted from the connection's opening and, on a kept-alive connection,
  from the first byte of each next request: a head not complete by then
  closes the connection;
- a size for the head (``POLKU_MAX_HEADER_BYTES``): a head still
  incomplete past it is answered 431 (httptools) or 400 (h11) and the
  connection closed; `api.middleware` answers 431 to a complete one over it;
- the idle time of a kept-alive connection between requests is uvicorn's
  ``timeout_keep_alive`` (``POLKU_IDLE_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.settings import get_settings

logger = logging.getLogger(__name__)


class _HeadGuard:
    """The connection cap and the request-head deadline, for either uvicorn protocol.

    Mixed in before the protocol class: `loop`, `transport` and `connections`
    are the protocol's own.
    """

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    connections: set[Any]

    def _guard(self) -> None:
        settings = get_settings()
        self.max_connections = settings.max_connections
        self.header_timeout = settings.header_timeout_seconds
        self.head_deadline: asyncio.TimerHandle | None = None

    def _admit(self, transport: asyncio.Transport) -> None:
        """Close a connection over the cap at once; give any other a head deadline."""
        if len(self.connections) > self.max_connections:
            logger.warning(
                "connection refused: this worker holds %d connections (POLKU_MAX_CONNECTIONS)",
                self.max_connections,
            )
            transport.close()
            return
        self._await_head()

    def _await_head(self) -> None:
        self._head_received()
        self.head_deadline = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _head_received(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_too_slow(self) -> None:
        self.head_deadline = None
        if self._waiting_for_head() and not self.transport.is_closing():
            self.transport.close()

    def _waiting_for_head(self) -> bool:
        raise NotImplementedError


class GuardedH11Protocol(_HeadGuard, H11Protocol):
    """uvicorn's h11 protocol with a connection cap and a request-head deadline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._admit(transport)

    def data_received(self, data: bytes) -> None:
        if self.head_deadline is None and self.conn.their_state is h11.IDLE:
            self._await_head()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._head_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_received()
        super().connection_lost(exc)

    def _waiting_for_head(self) -> bool:
        return self.conn.their_state is h11.IDLE


def _refuse_head(transport: asyncio.Transport) -> None:
    transport.write(
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-length: 0\r\nconnection: close\r\n\r\n"
    )
    transport.close()


class GuardedHttpToolsProtocol(_HeadGuard, HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap, a head deadline and a head size."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard()
        self.max_header_bytes = get_settings().max_header_bytes
        self.in_head = False
        self.head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._admit(transport)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.in_head and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > self.max_header_bytes:
                self._head_received()
                _refuse_head(self.transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes = True, 0
        if self.head_deadline is None:
            self._await_head()

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._head_received()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_received()
        super().connection_lost(exc)

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.in_head


def server_options() -> dict[str, Any]:
    """uvicorn options for the connection limits of the settings."""
    settings = get_settings()
    return {
        "http": GuardedHttpToolsProtocol,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.idle_timeout_seconds,
    }
