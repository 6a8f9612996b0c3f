"""Engine and sessions. One unit of work per request or task: services flush, the edge commits."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from psycopg import pq
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from services.settings import Settings, get_settings

_lock = threading.Lock()
_engine: Engine | None = None
# Connections of the write pool per process (10 kept, 20 more under load); the API's threads
# that end units of work are as many (api/deps.py).
WRITE_POOL_SIZE = 10
WRITE_POOL_MAX = 30
_sessionmaker: sessionmaker[Session] | None = None
_embedded = None
# Set by the API before its engine exists: how long a statement may wait for a row lock.
_lock_timeout: str | None = None


def set_lock_timeout(timeout: str | None) -> None:
    """Bound lock waits for this process's connections (e.g. "5s"), or None for no bound.

    The API sets it: a request stuck behind another transaction's lock holds one of the thread
    pool's threads, and enough of them could starve the very commits they wait for. A bounded
    wait turns that into a retryable error instead.
    """
    global _lock_timeout
    _lock_timeout = timeout


_parallel_query = True


def set_parallel_query(enabled: bool) -> None:
    """Let this process's statements use PostgreSQL's parallel query, or not (set before the
    engine exists).

    The API turns it off: a request's statements are index probes and small writes, and the
    planner still chose parallel workers for some (a /sync batch's checks over 2,000 ids ran
    in 23 ms with two workers, 6.6 ms without: their start-up and coordination cost three
    times the work, BENCHMARKS.md, figure 3). On a busy API the cores are taken anyway.
    """
    global _parallel_query
    _parallel_query = enabled


def _connection_options() -> str:
    options = [f"-c lock_timeout={_lock_timeout}"] if _lock_timeout else []
    if not _parallel_query:
        options.append("-c max_parallel_workers_per_gather=0")
    return " ".join(options)


def sqlalchemy_url(url: str) -> str:
    """Accept the plain `postgresql://` form of the contract and pick the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("HAZARDTRACK_DATABASE_URL must be a postgresql:// URL")


def embedded_database_url(settings: Settings) -> str:
    """Start (or join) the embedded PostgreSQL under the data directory and return its URL."""
    global _embedded
    import pgserver  # imported late: only the embedded default needs it

    pgdata = (settings.data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if _embedded is None:
        _embedded = pgserver.get_server(str(pgdata), cleanup_mode=None)
    return _embedded.get_uri("postgres")


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return settings.database_url or embedded_database_url(settings)


def _begin_on_checkout(dbapi_connection, _record, _proxy) -> None:
    """Open the transaction as the pool hands a connection out.

    psycopg would send this BEGIN anyway before the first statement (every use of this pool
    is a transaction; nothing on it may switch to autocommit or another isolation level,
    which psycopg refuses inside a transaction), so it costs no round trip, and it doubles as
    the pool's liveness check:
    a connection that died with a PostgreSQL restart fails here, before anything was done,
    and the pool replaces it with a fresh one (what `pool_pre_ping` did with one more round
    trip per checkout, a `SELECT 1`).
    """
    pgconn = dbapi_connection.pgconn
    status = pgconn.transaction_status
    if status == pq.TransactionStatus.UNKNOWN:
        raise DisconnectionError("connection is broken")
    if status != pq.TransactionStatus.IDLE:
        return  # already in a transaction (e.g. left by the connect-time setup)
    try:
        result = pgconn.exec_(b"BEGIN")  # blocking libpq call; releases the GIL
    except psycopg.Error as exc:
        raise DisconnectionError(f"BEGIN failed on checkout: {exc}") from exc
    if result.status != pq.ExecStatus.COMMAND_OK:
        message = result.error_message.decode(errors="replace").strip()
        raise DisconnectionError(f"BEGIN failed on checkout: {message}")


def get_engine() -> Engine:
    global _engine, _sessionmaker
    with _lock:
        if _engine is None:
            options = _connection_options()
            connect_args = {"options": options} if options else {}
            _engine = create_engine(
                sqlalchemy_url(database_url()),
                connect_args=connect_args,
                pool_size=WRITE_POOL_SIZE,
                max_overflow=WRITE_POOL_MAX - WRITE_POOL_SIZE,
                pool_pre_ping=False,  # replaced by _begin_on_checkout: no extra round trip
            )
            event.listen(_engine.pool, "checkout", _begin_on_checkout)
            _sessionmaker = sessionmaker(_engine, expire_on_commit=False)
        return _engine


def libpq_url(url: str) -> str:
    """The plain `postgresql://` form that psycopg itself takes (no SQLAlchemy driver name)."""
    return "postgresql://" + sqlalchemy_url(url)[len("postgresql+psycopg://") :]


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of the values, to send as one text parameter cast to the
    array's type: psycopg dumps a list value by value, a cost per id in every batch's checks.
    UUIDs are written by orjson (in C; `str` of a UUID is Python code), anything else quoted."""
    items = list(values)
    if all(isinstance(v, uuid.UUID) for v in items):
        return "{" + orjson.dumps(items).decode()[1:-1] + "}"
    quoted = (str(v).replace("\\", "\\\\").replace('"', '\\"') for v in items)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


def pyformat(sql: str) -> str:
    """A statement written with SQLAlchemy's `:name` parameters, in psycopg's `%(name)s`."""
    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql.replace("%", "%%"))


class HotPool:
    """Statements on the event loop: a small pool of autocommit connections.

    The dashboard's hot reads and the phones' single POST are each a few single statements, so
    they need no transaction of their own (no BEGIN, no COMMIT, no ping on checkout: a write is
    one statement, atomic by itself) and, being async, no hand-off to a thread: the thread
    hops of a sync endpoint were a sixth of a read's CPU (BENCHMARKS.md, figures 3 and 4). The
    API opens one pool for reads and one for writes in its lifespan (a pool belongs to that
    event loop), so a stall of the writes (a slow disk's commits) never holds up the reads.
    """

    def __init__(
        self, url: str, *, size: int, wait_seconds: float, keep: int = 1, options: str = ""
    ) -> None:
        kwargs: dict[str, Any] = {"autocommit": True, "row_factory": namedtuple_row}
        if options:
            kwargs["options"] = options
        self.pool = AsyncConnectionPool(
            libpq_url(url),
            min_size=keep,  # opened at start-up: a burst does not wait for new connections
            max_size=size,
            timeout=wait_seconds,  # then PoolTimeout: the API answers 503, retry
            kwargs=kwargs,
            open=False,
        )

    async def open(self) -> None:
        await self.pool.open(wait=False)  # connects in the background: PostgreSQL may be down

    async def close(self) -> None:
        await self.pool.close()

    async def all(self, sql: str, params: dict) -> list[Any]:
        """The rows of one statement, tried once more on a connection that turned out dead (a
        PostgreSQL restart). The pool discards that one; the others idle in it died with it,
        so they are checked (a round trip each, only after a failure) before the retry.

        A write may be retried too: every write sent here stores client-chosen ids, so a
        first try that did commit makes the second fail on its unique keys, never store twice.
        """
        for attempt in (1, 2):
            try:
                async with self.pool.connection() as conn:
                    cursor = await conn.execute(sql, params)
                    return await cursor.fetchall()
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
                await self.pool.check()
        raise AssertionError("unreachable")

    async def one(self, sql: str, params: dict) -> Any:
        rows = await self.all(sql, params)
        if len(rows) != 1:
            raise ValueError(f"expected one row, got {len(rows)}")
        return rows[0]


READ_POOL_SIZE = 6  # a few connections keep 2 cores busy; more readers wait for one
HOT_WRITE_POOL_SIZE = 10  # a write also waits for its commit to reach the disk
HOT_WRITE_POOL_KEEP = 4


async def open_hot_pools(url: str, *, wait_seconds: float) -> None:
    """Open the running event loop's read and write pools (the API's lifespan)."""
    options = _connection_options()
    pools = (
        HotPool(url, size=READ_POOL_SIZE, wait_seconds=wait_seconds, options=options),
        HotPool(
            url,
            size=HOT_WRITE_POOL_SIZE,
            keep=HOT_WRITE_POOL_KEEP,
            wait_seconds=wait_seconds,
            # Its two statements (the known rows by id, the write) are prepared after a few
            # runs, but PostgreSQL kept planning them again at every run (the id arrays make
            # a generic plan look dearer): a fifth of the backend's CPU per POST. Their plans
            # are key lookups and inserts, the same for any ids.
            options=f"{options} -c plan_cache_mode=force_generic_plan".strip(),
        ),
    )
    for pool in pools:
        await pool.open()
    _hot_pools[asyncio.get_running_loop()] = pools


async def close_hot_pools() -> None:
    for pool in _hot_pools.pop(asyncio.get_running_loop(), ()):
        await pool.close()


# By event loop: each running API (and each test client) serves on its own loop, and a pool
# of async connections is bound to the loop that opened it.
_hot_pools: dict[asyncio.AbstractEventLoop, tuple[HotPool, HotPool]] = {}


def _hot(index: int) -> HotPool:
    pools = _hot_pools.get(asyncio.get_running_loop())
    if pools is None:
        raise RuntimeError("no hot pools on this event loop: the API opens them in its lifespan")
    return pools[index]


def hot_reader() -> HotPool:
    return _hot(0)


def hot_writer() -> HotPool:
    return _hot(1)


def reset_engine() -> None:
    """Forget the engines (tests and forked worker processes)."""
    global _engine, _sessionmaker
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _sessionmaker = None


def new_session() -> Session:
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session that commits once at the end, or rolls back on error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
