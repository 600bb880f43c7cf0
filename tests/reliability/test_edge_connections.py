"""`polku serve` bounds request heads and connections: size, head deadline, idle time, a cap.

A real server (one worker, h11, as `polku serve` runs it) with short limits,
talked to over raw sockets: a head over the size limit is refused, a socket
that sends nothing or trickles its head a line at a time is closed, an idle
kept-alive connection is closed, and a connection over the cap is closed at
once while the ones under it are served.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ServerProcess, Servers
from tests.support.trained_model import TrainedModel

pytestmark = pytest.mark.server

HEADER_TIMEOUT = 2.0
IDLE_TIMEOUT = 1
MAX_CONNECTIONS = 6


@pytest.fixture(scope="module")
def server(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    folder: Path = tmp_path_factory.mktemp("edge-server")
    servers = Servers(trained_model, folder)
    try:
        yield servers(
            f"sqlite:///{folder / 'polku.db'}",
            wait="live",
            env={
                "POLKU_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
                "POLKU_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
                "POLKU_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
            },
        )
    finally:
        servers.close()


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed `sock` (reading what it sent), or None if still open."""
    began = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - began < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - began
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - began
    return None


def _live(server: ServerProcess) -> bytes:
    with _connect(server) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        sock.settimeout(10)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def test_a_head_over_16_kb_is_refused(server: ServerProcess) -> None:
    for size in (20_000, 4_000_000):
        with _connect(server) as sock:
            try:
                sock.sendall(
                    b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n"
                )
            except (BrokenPipeError, ConnectionResetError):
                continue  # closed while sending: refused
            sock.settimeout(10)
            try:
                status = sock.recv(100).split(b"\r\n", 1)[0]
            except ConnectionResetError:
                continue
            assert status == b"" or status.split(b" ")[1] in (b"431", b"400"), status
    assert b"200 OK" in _live(server)


def test_a_socket_that_sends_nothing_is_closed(server: ServerProcess) -> None:
    with _connect(server) as sock:
        closed = _closed_within(sock, HEADER_TIMEOUT + 8)
    assert closed is not None and closed >= HEADER_TIMEOUT - 0.5


def test_a_head_trickling_in_is_closed_at_the_deadline(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\n")
        began = time.monotonic()
        closed = False
        while time.monotonic() - began < HEADER_TIMEOUT + 8:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if _closed_within(sock, 0.5) is not None:
                closed = True
                break
        assert closed, "a head sent a line at a time kept the connection"


def test_an_idle_kept_alive_connection_is_closed(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(10)
        assert b"200 OK" in sock.recv(65536)
        closed = _closed_within(sock, IDLE_TIMEOUT + 6)
    assert closed is not None


def test_connections_over_the_cap_are_closed_at_once(server: ServerProcess) -> None:
    held = [_connect(server) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)
        with _connect(server) as extra:
            closed = _closed_within(extra, HEADER_TIMEOUT - 0.5)
        assert closed is not None, "a connection over the cap was kept"
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    assert b"200 OK" in _live(server)
