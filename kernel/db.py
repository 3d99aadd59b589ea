"""Engines for a service's own database: SQLite file by default, PostgreSQL by URL.

SQLite: WAL, a busy timeout, and ``BEGIN IMMEDIATE`` so a transaction that will append
takes the write lock up front (one writer at a time keeps positions and the hash chain in
commit order). PostgreSQL: psycopg 3 told to wait with ``select`` so eventlet can switch
greenthreads while a query runs (otherwise one slow query blocks the whole process).
"""
from __future__ import annotations

import os

# Must be set before psycopg is imported anywhere (see ../shared/STACK.md).
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import threading  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import create_engine, event  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_service_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed, echo)
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_engine(url: str, parsed, echo: bool) -> Engine:
    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if database and database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten content is zeroed, not left in free pages: an erased
        # person's key and copies must not be recoverable from the file (kernel.personal).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers take the lock up front; readers (WAL) never block and are never blocked.
        writing = connection.get_execution_options().get("sqlite_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def is_postgres(engine_or_connection) -> bool:
    return engine_or_connection.dialect.name == "postgresql"


_sqlite_write_locks: dict[int, "threading.RLock"] = {}


@contextmanager
def transaction(engine: Engine):
    """A write transaction. On SQLite, writers in one process also queue on a (green) lock:
    a greenthread waiting in SQLite's busy loop would block the whole eventlet hub, so the
    holder of the file lock could never resume."""
    if engine.dialect.name == "sqlite":
        lock = _sqlite_write_locks.setdefault(id(engine), threading.RLock())
        with lock, engine.connect().execution_options(sqlite_write=True) as conn, conn.begin():
            yield conn
    else:
        with engine.begin() as conn:
            yield conn


_PG_ARRAY_TYPES = {"INTEGER": "int", "BIGINT": "bigint", "SMALLINT": "smallint", "BOOLEAN": "bool"}
_statements: dict = {}


def insert_many(conn, table, rows: list[dict]) -> None:
    """Insert rows (dicts with the same keys) in one round trip.

    SQLite: the driver's executemany of one cached statement, with SQLAlchemy's per-row
    parameter processing skipped where no column needs a bind processor (it cost as much
    as the INSERT itself). PostgreSQL: ``INSERT … SELECT * FROM
    unnest(array, array, …)`` — psycopg's executemany costs a network round trip per row
    under eventlet's green waiting, and a compiled multi-row VALUES costs more to build than
    it saves."""
    if not rows:
        return
    columns = tuple(rows[0])
    key = (table.name, columns, conn.dialect.name)
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = _insert_statement(conn, table, columns)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(statement, tuple([row[c] for row in rows] for c in columns))
    elif isinstance(statement, str):
        conn.exec_driver_sql(statement, [tuple([row[c] for c in columns]) for row in rows])
    else:
        conn.execute(statement, rows)


def _insert_statement(conn, table, columns):
    from sqlalchemy import insert
    if conn.dialect.name != "postgresql":
        if any(table.c[c].type.bind_processor(conn.dialect) is not None for c in columns):
            return insert(table)
        quote = conn.dialect.identifier_preparer.quote
        return (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})")
    arrays = ", ".join(
        f"%s::{_PG_ARRAY_TYPES.get(table.c[c].type.compile(dialect=conn.dialect).split('(')[0], 'text')}[]"
        for c in columns)
    return f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"


@contextmanager
def advisory_lock(engine: Engine, key: str, wait: bool):
    """Hold the PostgreSQL session advisory lock ``key`` for the block; yields whether this
    process holds it (with ``wait``, it waits and always does). SQLite: one process per
    file, so always True. Used where several replicas of a service must not do the same
    work at once: migrations, timers."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    conn = engine.connect()
    try:
        held = bool(conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": key}).scalar())
        if not held and wait:
            conn.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": key})
            held = True
        conn.commit()
        yield held
    finally:
        try:
            if held:
                # The lock belongs to the session, which a pooled connection outlives.
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": key})
                conn.commit()
            conn.close()
        except DBAPIError:
            conn.invalidate()          # the session, and with it the lock, is gone already


def serialise_in_transaction(conn, key: str) -> None:
    """Make concurrent transactions that pass the same ``key`` run one after the other, from
    here to their commit (PostgreSQL: a transaction advisory lock). SQLite's write
    transactions (``BEGIN IMMEDIATE``) are serialised already. For a read that decides a
    number the append that follows must not share with a concurrent writer's."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
