"""Several `polku serve` workers on one socket: connections opened together are shared, and a
worker that dies is replaced.

Which worker holds a connection is read from /proc: the server end of the
connection is a socket inode in /proc/net/tcp, and the worker that holds it
has a file descriptor pointing at that inode.
"""

from __future__ import annotations

import http.client
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ServerProcess, Servers
from tests.support.trained_model import TrainedModel

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")

WORKERS = 2


def _workers(server: ServerProcess) -> list[int]:
    assert server.process is not None
    parent = server.process.pid
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"resource_tracker" not in command:
            children.append(int(entry.name))
    return sorted(children)


def _server_inode(server_port: int, client_port: int) -> str:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if (
            int(local.split(":")[1], 16) == server_port
            and int(remote.split(":")[1], 16) == client_port
        ):
            return fields[9]
    raise AssertionError(f"no server socket for client port {client_port}")


def _holder(pids: list[int], inode: str) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == target:
                    return pid
            except OSError:
                continue
    return None


def _open_together(server: ServerProcess, n: int) -> list[http.client.HTTPConnection]:
    connections = [
        http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(n)
    ]
    for connection in connections:
        connection.connect()
    for connection in connections:  # answered, so certainly accepted by a worker
        connection.request("GET", "/health/live")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
    return connections


def _eight_opened_together(server: ServerProcess) -> Counter[int | None]:
    """How many of 8 connections opened at once each worker holds (closed again after)."""
    connections = _open_together(server, 8)
    try:
        return _holders(server, connections)
    finally:
        for connection in connections:
            connection.close()


def _holders(
    server: ServerProcess, connections: list[http.client.HTTPConnection]
) -> Counter[int | None]:
    pids = _workers(server)
    return Counter(
        _holder(pids, _server_inode(server.port, c.sock.getsockname()[1])) for c in connections
    )


def _every_worker_answering(server: ServerProcess, timeout: float = 120.0) -> list[int]:
    """Wait until each worker has answered /health/ready on a connection of its own."""
    deadline = time.monotonic() + timeout
    ready: set[int] = set()
    while time.monotonic() < deadline:
        pids = _workers(server)
        connections = _open_together(server, 2 * WORKERS)
        try:
            for connection in connections:
                connection.request("GET", "/health/ready")
                response = connection.getresponse()
                response.read()
                holder = _holder(pids, _server_inode(server.port, connection.sock.getsockname()[1]))
                if response.status == 200 and holder is not None:
                    ready.add(holder)
        finally:
            for connection in connections:
                connection.close()
        if len(ready & set(pids)) == WORKERS:
            return pids
        time.sleep(0.5)
    pytest.fail(f"not every worker answered within {timeout:.0f} s:\n{server.log_tail()}")


@pytest.fixture(scope="module")
def two_worker_server(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server with two workers for this module's tests (a start costs seconds).

    The first test only opens and closes connections; the second kills a
    worker, which the server replaces, and checks the sharing again.
    """
    folder = tmp_path_factory.mktemp("workers")
    servers = Servers(trained_model, folder)
    try:
        yield servers(f"sqlite:///{(folder / 'polku.db').as_posix()}", workers=WORKERS)
    finally:
        servers.close()


def test_connections_opened_together_are_shared_by_the_workers(
    two_worker_server: ServerProcess,
) -> None:
    server = two_worker_server
    pids = _every_worker_answering(server)
    assert len(pids) == WORKERS
    for _ in range(3):
        held = _eight_opened_together(server)
        assert None not in held
        # Taking turns gives 4 and 4; a neighbour busy past the bounded wait may cost one.
        assert sorted(held.values()) in ([4, 4], [3, 5]), held
        time.sleep(0.3)  # the closes reach the workers' counts


def test_a_worker_that_dies_is_replaced_in_its_slot(two_worker_server: ServerProcess) -> None:
    server = two_worker_server
    before = _every_worker_answering(server)
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and before[0] in _workers(server):
        time.sleep(0.1)
    after = _every_worker_answering(server)
    assert before[0] not in after and before[1] in after
    held = _eight_opened_together(server)
    assert sorted(held.values()) in ([4, 4], [3, 5]), held
