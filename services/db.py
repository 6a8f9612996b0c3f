"""Engine and sessions. One unit of work per request or task: services flush, the edge commits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import pq
from sqlalchemy import Engine, Row, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from services.settings import Settings, get_settings

_lock = threading.Lock()
_engine: Engine | None = None
# Connections of the write pool per process (10 kept, 20 more under load); the API's threads
# that end units of work are as many (api/deps.py).
WRITE_POOL_SIZE = 10
WRITE_POOL_MAX = 30
_sessionmaker: sessionmaker[Session] | None = None
_read_engine: Engine | None = None
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
            connect_args = {"options": f"-c lock_timeout={_lock_timeout}"} if _lock_timeout else {}
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


def get_read_engine() -> Engine:
    """A small autocommit pool for the hot read-only statements (the dashboard's figures).

    Each read is one statement, so it needs no transaction: no BEGIN, no COMMIT and no ping on
    checkout (the main pool's pre-ping is one more round trip). A connection that died with a
    PostgreSQL restart is invalidated by the error, and `read_retrying` tries once more.
    """
    global _read_engine
    with _lock:
        if _read_engine is None:
            _read_engine = create_engine(
                sqlalchemy_url(database_url()),
                isolation_level="AUTOCOMMIT",
                # A fixed pool: overflow connections would be opened and closed per burst, and
                # a few connections keep 2 cores busy; more readers wait for one.
                pool_size=6,
                max_overflow=0,
                pool_pre_ping=False,
            )
        return _read_engine


def read_all(statement, params: dict) -> list[Row]:
    """The rows of one read-only statement on the read pool, retried once on a connection that
    turned out dead (the pool has no pre-ping)."""
    for attempt in (1, 2):
        try:
            with get_read_engine().connect() as conn:
                return list(conn.execute(statement, params).all())
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def read_retrying(statement, params: dict) -> Row:
    """The one row of a read-only statement on the read pool (see `read_all`)."""
    rows = read_all(statement, params)
    if len(rows) != 1:
        raise ValueError(f"expected one row, got {len(rows)}")
    return rows[0]


def reset_engine() -> None:
    """Forget the engines (tests and forked worker processes)."""
    global _engine, _sessionmaker, _read_engine
    with _lock:
        if _engine is not None:
            _engine.dispose()
        if _read_engine is not None:
            _read_engine.dispose()
        _engine = None
        _sessionmaker = None
        _read_engine = None


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
