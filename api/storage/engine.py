"""The database engine and its transactions.

SQLite (the default, a file under the data folder) is set up for durability
and for several worker processes: write-ahead log, ``synchronous=FULL`` (a
commit is on disk before it returns), a busy timeout instead of instant
"database is locked" errors, foreign keys on, and writes in ``BEGIN
IMMEDIATE`` transactions, which take the write lock at the start so that two
writers never deadlock on a lock upgrade. Python's sqlite3 module would
otherwise issue its own BEGINs; the driver is put in autocommit mode and
SQLAlchemy's begin event issues them instead (the SQLAlchemy documentation's
recipe for pysqlite).

PostgreSQL is reached with psycopg 3 and ``synchronous_commit=on``, so a
commit is durable before the API answers; connections are checked before
use, so a restarted server costs one retry, not an error.

Use `write_transaction` for anything that writes and `read_transaction` for
reads; both yield a `Connection` inside a transaction that commits at the
end of the block and rolls back on an exception.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Final

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger(__name__)

WRITE: Final = "polku_write"
# Bound values are client ids, comments and key hashes: SQLAlchemy's own logs
# (on at DEBUG, as soon as the root logger is) and its error messages would
# otherwise print them. The statements themselves are still logged.
HIDE_PARAMETERS: Final = True


def _json_text(value: Any) -> str:
    # orjson: several times faster than the json module for the audit log's
    # feature and output documents; NaN becomes null (valid JSON) rather than
    # the json module's bare NaN, and numpy numbers are written as numbers.
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()


JSON_OPTIONS: Final = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def _on_disk(database: str) -> bool:
    """Whether an SQLite URL's database is a plain file (not in memory, not a ``file:`` URI)."""
    return database not in ("", ":memory:") and not database.startswith("file:")


def keep_private(database: Path) -> None:
    """Create the SQLite file (and its folder) readable by its owner only; tighten an old one.

    The file holds client ids and comments. SQLite gives its ``-wal`` and
    ``-shm`` files the mode of the database file, so 0600 here covers them
    too; ones left by an older, looser file are tightened as well. A folder
    that others may read or enter is logged as a warning: they could copy
    the files as they are written.
    """
    folder = database.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
    if folder.stat().st_mode & 0o007:
        logger.warning(
            "the database folder %s can be read by other users (mode %o): "
            "make it 0700 (chmod o-rwx)",
            folder,
            folder.stat().st_mode & 0o777,
        )


def make_engine(
    url: str, *, busy_timeout_ms: int = 5000, connect_timeout_s: int = 5, pool_size: int = 5
) -> Engine:
    """An engine for `url` with Polku's durability settings (see module docstring)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if _on_disk(database):
            keep_private(Path(database).expanduser())
        engine = create_engine(
            parsed,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            hide_parameters=HIDE_PARAMETERS,
            **JSON_OPTIONS,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        _register_writer_queue(engine, database, busy_timeout_ms / 1000)
        return engine
    if backend == "postgresql":
        # Keep any options given in the URL (e.g. a search_path), after ours.
        given = parsed.query.get("options")
        options = " ".join(
            ["-c synchronous_commit=on", *([given] if isinstance(given, str) else given or [])]
        )
        return create_engine(
            parsed.difference_update_query(["options"]),
            pool_pre_ping=True,
            hide_parameters=HIDE_PARAMETERS,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=connect_timeout_s,
            connect_args={"connect_timeout": connect_timeout_s, "options": options},
            **JSON_OPTIONS,
        )
    raise ValueError(f"unsupported database backend {backend!r}; use sqlite or postgresql")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class _WriterQueue:
    """Writers of one SQLite file, across threads and processes, take turns.

    SQLite lets a writer that finds the file locked sleep and retry, on a
    fixed schedule of 1, 2, 5, 10, 15, 20, 25 ... ms; with two API workers
    writing audit events, those sleeps (not the writes) set the tail
    latency: writes of about half a millisecond waited up to a second. Here
    a writer first takes a lock on a file beside the database
    (``<db>-writer``), which wakes the next waiter the moment it is let go; a
    thread lock in front makes the threads of one process queue as well (an
    flock is held per open file, not per thread).

    The lock only orders Polku's own writers; SQLite's lock still decides.
    A writer that has not had its turn within the busy timeout goes ahead
    anyway and leaves it to SQLite (busy timeout, then "database is
    locked"), so a stuck process cannot hold the others up for longer than
    it could before (at most twice the busy timeout in all). The kernel
    lets go of the lock when a process dies. Its effect on the tail latency
    is measured in bench/RESULTS.md.
    """

    def __init__(self, database: str, timeout_s: float) -> None:
        self.path = f"{database}-writer"
        self.timeout_s = timeout_s
        self._threads = threading.Lock()
        self._fd: int | None = None

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @contextmanager
    def turn(self) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            yield  # SQLite decides
            return
        try:
            fd = self._file()
            locked = self._flock(fd, deadline)
            try:
                yield
            finally:
                if locked:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def busy(self) -> bool:
        """Whether a writer holds the turn now (in this process or another); never waits.

        Tested while holding the thread lock, so that the probe's own lock and
        unlock cannot touch a turn another thread of this process takes.
        """
        if not self._threads.acquire(blocking=False):
            return True
        try:
            fd = self._file()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            self._threads.release()

    @staticmethod
    def _flock(fd: int, deadline: float) -> bool:
        pause = 0.00005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.0005)


# One queue per database file and process, whichever engine writes to it.
_queues: dict[str, _WriterQueue] = {}
_queues_lock = threading.Lock()
_engine_queues: weakref.WeakKeyDictionary[Engine, _WriterQueue] = weakref.WeakKeyDictionary()


def _register_writer_queue(engine: Engine, database: str, timeout_s: float) -> None:
    if not _on_disk(database):
        return
    path = str(Path(database).expanduser().resolve())
    with _queues_lock:
        queue = _queues.get(path)
        if queue is None:
            queue = _queues[path] = _WriterQueue(path, timeout_s)
        _engine_queues[engine] = queue


def writer_busy(engine: Engine) -> bool:
    """Whether another writer of the engine's SQLite file holds its turn now (False otherwise)."""
    queue = _engine_queues.get(engine)
    return queue is not None and queue.busy()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for writing (``BEGIN IMMEDIATE`` on SQLite); commits at the end."""
    queue = _engine_queues.get(engine)
    with queue.turn() if queue is not None else nullcontext(), engine.connect() as connection:
        connection.execution_options(**{WRITE: True})
        with connection.begin():
            yield connection


class HeldWriter:
    """One connection kept open for a single writer's transactions (SQLite files only).

    Checking a connection out of the pool and back in (with the pool's
    reset) cost the audit writer about as much Python time as its insert.
    The group-commit leader writes one transaction at a time, so it can keep
    a connection of its own. After any error the connection is closed and
    the next transaction opens a fresh one, as the pool would. PostgreSQL
    keeps the pool, whose pre-ping finds a connection the server dropped.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # only SQLite files have a writer queue (`_register_writer_queue`)
        self.queue = _engine_queues.get(engine)
        self.held = self.queue is not None
        self._connection: Connection | None = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if not self.held:
            with write_transaction(self.engine) as connection:
                yield connection
            return
        assert self.queue is not None
        with self.queue.turn():
            kept = self._connection
            if kept is None or kept.closed or kept.invalidated:
                kept = self.engine.connect()
                kept.execution_options(**{WRITE: True})
                self._connection = kept
            try:
                with kept.begin():
                    yield kept
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only unit of work (one consistent snapshot)."""
    with engine.connect() as connection, connection.begin():
        yield connection


def database_problem(engine: Engine, *, busy_timeout_ms: int = 5000) -> str | None:
    """None when the database answers, else why not (no URL, no SQL).

    PostgreSQL: a trivial query on a (pre-pinged) connection. SQLite: the
    write lock, taken (``BEGIN IMMEDIATE``, waiting up to the busy timeout)
    and let go at once, on a connection of its own so that the check never
    queues behind requests for the pool. ``SELECT 1`` never touches an
    SQLite file, and in WAL mode readers are not blocked by another process
    holding the write lock; yet every recommendation (its audit event) and
    every decision writes, so a database that cannot be written is not ready.
    """
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_writable(engine, busy_timeout_ms / 1000)
            return None
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
        return f"the database does not answer ({type(getattr(exc, 'orig', None) or exc).__name__})"
    return None


def _sqlite_writable(engine: Engine, timeout_s: float) -> None:
    database = engine.url.database or ""
    if not _on_disk(database):
        with engine.connect() as connection:  # private to this process: the pool's is it
            connection.execute(text("SELECT 1"))
        return
    probe = sqlite3.connect(database, timeout=timeout_s, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    finally:
        probe.close()


def backend(engine: Engine) -> str:
    return engine.dialect.name
