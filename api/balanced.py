"""Worker processes that share one listening socket and take turns at accepting.

With uvicorn's own workers every process watches the shared socket and, when
woken, accepts every connection waiting (libuv accepts until the queue is
empty). A pool of keep-alive connections opened together, which is how a
case system or a proxy talks to the API, then often lands on one worker
while the other idles: measured at 8 connections, one worker's CPU 8.1 s and
the other's 0.01 s, and half the throughput. `SO_REUSEPORT` (``--reuse-port``)
spreads by a hash of the client's address and port, which is fair only on
average.

Here each worker publishes how many connections it holds in a small shared
array, and accepts one connection at a time, only while it holds no more
than the least-loaded other worker. Otherwise it stops watching the socket
for a couple of milliseconds, so that the other worker, woken by the same
readiness, takes the connection. The step-aside is bounded: a worker that
has waited `MAX_DEFER_SECONDS` accepts anyway, so a busy or stuck neighbour
never leaves a connection waiting long. The parent binds the socket, starts
the workers and starts a new one in the same slot if one dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, MutableSequence
from typing import Any, Final

logger = logging.getLogger(__name__)

# A worker that holds more connections than another steps aside this long
# before it looks again, and for no more than MAX_DEFER_SECONDS in all.
RETRY_SECONDS: Final = 0.002
MAX_DEFER_SECONDS: Final = 0.05


def may_accept(held: Iterable[int], slot: int, deferred_for: float | None) -> bool:
    """Whether the worker in `slot` takes the next connection.

    `held`: connections each worker holds (accepted, not yet closed);
    `deferred_for`: how long this worker has already stepped aside for the
    connection now waiting (None when it has not).
    """
    counts = list(held)
    others = [n for i, n in enumerate(counts) if i != slot]
    if not others or counts[slot] <= min(others):
        return True
    return deferred_for is not None and deferred_for >= MAX_DEFER_SECONDS


class _Load:
    """This worker's connections, published to the shared array on every change."""

    def __init__(self, shared: MutableSequence[int], slot: int) -> None:
        self.shared = shared
        self.slot = slot
        self.open = 0  # connections the server holds
        self.pending = 0  # accepted, not yet handed to the server
        self.publish()

    def publish(self) -> None:
        self.shared[self.slot] = self.open + self.pending


class CountingSet(set[Any]):
    """uvicorn's set of open connections, counting them into a `_Load` as they come and go."""

    def __init__(self, load: _Load) -> None:
        super().__init__()
        self._load = load

    def add(self, item: Any) -> None:
        super().add(item)
        self._changed()

    def discard(self, item: Any) -> None:
        super().discard(item)
        self._changed()

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._changed()

    def _changed(self) -> None:
        self._load.open = len(self)
        self._load.publish()


class _Acceptor:
    """Accepts from the shared socket while this worker's turn lasts; stands in for a server."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
        load: _Load,
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._factory = protocol_factory
        self._load = load
        self._deferred_since: float | None = None
        self._watching = False
        self._closed = False
        self._handovers: set[asyncio.Task[Any]] = set()
        sock.setblocking(False)
        self._watch()

    def _watch(self) -> None:
        if not self._closed and not self._watching:
            self._loop.add_reader(self._sock.fileno(), self._ready)
            self._watching = True

    def _unwatch(self) -> None:
        if self._watching:
            self._loop.remove_reader(self._sock.fileno())
            self._watching = False

    def _ready(self) -> None:
        now = time.monotonic()
        waited = None if self._deferred_since is None else now - self._deferred_since
        if not may_accept(self._load.shared, self._load.slot, waited):
            if self._deferred_since is None:
                self._deferred_since = now
            self._unwatch()
            self._loop.call_later(RETRY_SECONDS, self._watch)
            return
        try:
            conn, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            self._deferred_since = None  # another worker took it
            return
        except OSError as exc:  # out of file descriptors and the like: back off, keep serving
            logger.warning("accepting a connection failed (%s); retrying shortly", exc.strerror)
            self._unwatch()
            self._loop.call_later(0.1, self._watch)
            return
        self._deferred_since = None
        conn.setblocking(False)
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._load.pending += 1
        self._load.publish()
        task = self._loop.create_task(self._hand_over(conn))
        self._handovers.add(task)
        task.add_done_callback(self._handovers.discard)

    async def _hand_over(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:
            conn.close()  # the client went away before the server saw it
        finally:
            self._load.pending -= 1
            self._load.publish()

    # What uvicorn's shutdown asks of a server.
    def close(self) -> None:
        self._closed = True
        self._unwatch()

    async def wait_closed(self) -> None:
        if self._handovers:
            await asyncio.gather(*self._handovers, return_exceptions=True)


def _balanced_server_class() -> type[Any]:
    import uvicorn

    class BalancedServer(uvicorn.Server):
        """uvicorn's server with `_Acceptor`s in place of the event loop's greedy accept."""

        def __init__(self, config: uvicorn.Config, shared: MutableSequence[int], slot: int) -> None:
            super().__init__(config)
            self._load = _Load(shared, slot)
            self.server_state.connections = CountingSet(self._load)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            # The lifespan and the rest of uvicorn's start-up, without its servers.
            await super().startup(sockets=[])
            if self.should_exit:
                return
            config = self.config

            def create_protocol() -> asyncio.Protocol:
                return config.http_protocol_class(  # type: ignore[call-arg]
                    config=config, server_state=self.server_state, app_state=self.lifespan.state
                )

            loop = asyncio.get_running_loop()
            self.servers = [
                _Acceptor(loop, sock, create_protocol, self._load)  # type: ignore[misc]
                for sock in sockets or []
            ]

    return BalancedServer


def _worker(
    sock: socket.socket, shared: MutableSequence[int], slot: int, kwargs: dict[str, Any]
) -> None:
    import uvicorn

    shared[slot] = 0  # a worker started in a dead one's place holds nothing yet
    config = uvicorn.Config("api.main:create_app", **kwargs)
    _balanced_server_class()(config, shared, slot).run(sockets=[sock])


def listening_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def supervise(start: Callable[[int], multiprocessing.process.BaseProcess], workers: int) -> None:
    """Run `workers` processes (`start(slot)`), replace any that dies, stop them all on SIGINT/SIGTERM."""
    stopping = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    running = [start(slot) for slot in range(workers)]
    try:
        while not stopping.wait(0.5):
            for slot, process in enumerate(running):
                if not process.is_alive():
                    logger.warning(
                        "worker %s exited (%s); starting another", process.pid, process.exitcode
                    )
                    running[slot] = start(slot)
    finally:
        for process in running:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in running:
            process.join(15)
            if process.is_alive():
                process.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_balanced(host: str, port: int, workers: int, kwargs: dict[str, Any]) -> None:
    """`workers` processes on one socket, taking turns at accepting (see the module's text)."""
    import logging.config

    logging.config.dictConfig(kwargs["log_config"])
    context = multiprocessing.get_context("spawn")
    sock = listening_socket(host, port)
    sock.listen(2048)
    shared = context.RawArray(ctypes.c_int, workers)
    logger.info("listening on http://%s:%d with %d workers taking turns", host, port, workers)

    def start(slot: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker, args=(sock, shared, slot, kwargs), daemon=False)
        process.start()
        return process

    try:
        supervise(start, workers)
    finally:
        sock.close()
