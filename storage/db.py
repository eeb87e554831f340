"""Database opening: URL parsing, SQLite pragmas, and the one thread every query runs on.

All peewee work happens on a single dedicated thread. That keeps the event loop free, gives
SQLite one writer (no "database is locked" between our own threads), and keeps writes in the
order they were asked for. Nothing here knows about tables; see models.py and migrations.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import unquote, urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase

from core.errors import StorageError

logger = logging.getLogger(__name__)

db = peewee.DatabaseProxy()

P = ParamSpec("P")
R = TypeVar("R")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    # Every commit on disk: the event journal is emptied once its events are stored, so a
    # commit lost to a power cut would be a message lost for good.
    "synchronous": "full",
    "cache_size": -32_000,
    "temp_store": "memory",
    "journal_size_limit": 64 * 1024 * 1024,  # the log file shrinks back after a big burst
}

#: Errors that mean "cannot write right now" (locked, disk full, connection lost) rather than a
#: bug: peewee's own, and the drivers' from the raw cursors the bulk paths use.
TRANSIENT: tuple[type[Exception], ...] = (peewee.OperationalError, sqlite3.OperationalError)
try:
    import psycopg2

    TRANSIENT += (psycopg2.OperationalError,)
    _DRIVER_ERRORS: tuple[type[Exception], ...] = (psycopg2.DatabaseError,)
except ImportError:  # PostgreSQL support not installed
    _DRIVER_ERRORS = ()
#: Errors that mean "the database will never take this row" (a value it refuses): retrying
#: the same row cannot help. Checked after TRANSIENT (OperationalError is a DatabaseError).
#: ValueError: psycopg2 refuses a NUL character before the server sees it.
REFUSED: tuple[type[Exception], ...] = (
    peewee.DatabaseError,
    sqlite3.DatabaseError,
    ValueError,
    *_DRIVER_ERRORS,
)

#: Rows per statement: a batch insert, or the values of one ``IN (...)`` list.
CHUNK = 250

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def sqlite_url(path: Path) -> str:
    """Return the DATABASE_URL of a SQLite file."""
    return f"sqlite:///{path}"


def describe_url(url: str) -> str:
    """Return the URL with any password masked, fit for logs and error messages."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return parsed._replace(netloc=netloc).geturl()
    return url


def make_database(url: str) -> peewee.Database:
    """Build (not connect) the peewee database for a ``sqlite:///`` or ``postgresql://`` URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if url.startswith("sqlite:////"):
            path = "/" + path.lstrip("/")
        elif url.startswith("sqlite:///"):
            path = path[1:] if path.startswith("/") else path
        if not path or path == ":memory:":
            raise StorageError("an in-memory SQLite database cannot be shared; use a file")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return peewee.SqliteDatabase(
            path, pragmas=SQLITE_PRAGMAS, check_same_thread=False, returning_clause=True
        )
    if parsed.scheme in {"postgres", "postgresql"}:
        pooled: peewee.Database = PooledPostgresqlDatabase(
            (parsed.path or "/").lstrip("/") or "postgres",
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname,
            port=parsed.port or 5432,
            max_connections=4,
            stale_timeout=300,
        )
        return pooled
    raise StorageError(f"unsupported database URL scheme {parsed.scheme!r}")


def select_in(
    sql: str, values: Sequence[Any], extra: Sequence[Any] = (), size: int = CHUNK
) -> list[tuple[Any, ...]]:
    """Run a query over ``values`` a chunk at a time and return every row (blocking).

    ``sql`` names the list of a chunk's placeholders ``{marks}`` (as often as it needs the
    values) and any other parameter ``{p}``; those others' values are ``extra``, after the
    chunk's.
    """
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), size):
        part = list(values[start : start + size])
        marks = ", ".join([db.param] * len(part))
        query = sql.format(marks=marks, p=db.param)
        found += db.execute_sql(query, part * sql.count("{marks}") + list(extra)).fetchall()
    return found


def is_postgres() -> bool:
    """Return True when the bound database is PostgreSQL."""
    return isinstance(db.obj, peewee.PostgresqlDatabase)


def bind(database: peewee.Database) -> None:
    """Point the proxy at ``database`` and check it can be opened."""
    db.initialize(database)
    try:
        database.connect(reuse_if_open=True)
    except (peewee.OperationalError, sqlite3.Error) as exc:
        raise StorageError(f"cannot open the database: {exc}") from exc
    if isinstance(database, peewee.SqliteDatabase):
        version = sqlite3.sqlite_version_info
        if version < (3, 35):
            raise StorageError(f"SQLite {sqlite3.sqlite_version} is too old; 3.35 or newer needed")


def _db_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")
        return _executor


def shutdown_executor() -> None:
    """Stop the database thread (used at shutdown and between tests)."""
    global _executor
    with _executor_lock:
        if _executor is not None:
            _executor.shutdown(wait=True)
            _executor = None


async def run(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking storage function on the database thread and await its result."""
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, fn, *args, **kwargs)
    try:
        return await loop.run_in_executor(_db_executor(), call)
    except TRANSIENT as exc:
        raise StorageError(str(exc)) from exc


def tuples(query: Any) -> list[tuple[Any, ...]]:
    """A query's rows as plain tuples (peewee's stubs type ``.tuples()`` rows as models)."""
    return list(query.tuples())


def in_thread(fn: Callable[..., R]) -> Callable[..., Any]:
    """Turn a blocking repository method into a coroutine running on the database thread.

    The blocking original stays reachable as ``.sync`` for benchmarks and migrations.
    """

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> R:
        return await run(fn, *args, **kwargs)

    wrapper.sync = fn  # type: ignore[attr-defined]
    return wrapper
