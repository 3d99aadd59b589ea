"""Which failures are the infrastructure's and go away by themselves (a database or broker
that is restarting, a lock held by another writer), as against refusals that repeat for
the same input. Consumers wait the first kind out and park only the second; the gateway
answers 503 for a broker that is away."""
from __future__ import annotations

import errno

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError as KombuOperationalError

# Socket errors that say "the other end is not there (yet)", not "you sent something wrong".
_NETWORK_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE,
                             errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.ETIMEDOUT,
                             errno.EHOSTDOWN, errno.ENOTCONN, errno.ESHUTDOWN})
# SQLite's own transient refusals: another connection holds the write lock.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy")
# PostgreSQL SQLSTATEs a retry outlives: connection exceptions (08), insufficient resources
# (53: too many connections, disk full), the server shutting down or starting (57P01-03),
# serialization failure and deadlock (40001, 40P01), a lock not available (55P03).
_PG_TRANSIENT_CLASSES = ("08", "53")
_PG_TRANSIENT_STATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01", "55P03"})
# nameko's standalone RPC proxy once its connection dropped (it never reconnects itself).
_DISCONNECTED_PROXY = ("consumer has been disconnected", "consumer has been stopped")


def is_broker_fault(exc: BaseException) -> bool:
    """The broker connection failed (refused, reset, closed, timed out) — not a refusal."""
    if isinstance(exc, (AmqpConnectionError, KombuOperationalError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in _DISCONNECTED_PROXY)


def _is_database_fault(exc: BaseException) -> bool:
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (sa.DisconnectionError, sa.TimeoutError)):      # pool: server gone, pool exhausted
        return True
    if isinstance(exc, sa.OperationalError) and exc.orig is not None:
        return _is_database_fault(exc.orig)
    if isinstance(exc, sa.InterfaceError) and exc.orig is not None:
        return _is_database_fault(exc.orig)
    import sqlite3
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc) for text in _SQLITE_TRANSIENT)
    try:
        import psycopg
    except ImportError:           # pragma: no cover - psycopg is pinned; SQLite-only installs lack it
        return False
    if not isinstance(exc, psycopg.Error):
        return False
    # No SQLSTATE: the client's own connection failed (refused, reset, closed). Otherwise
    # only the server's transient refusals; psycopg's OperationalError also covers
    # deterministic ones (a statement timeout, "program limit exceeded") that must be parked.
    state = exc.sqlstate
    if state is None:
        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
    return state.startswith(_PG_TRANSIENT_CLASSES) or state in _PG_TRANSIENT_STATES


def is_transient(exc: BaseException) -> bool:
    """True when waiting and trying the same thing again can succeed: a database or broker
    connection fault, or one given as the cause (``raise ... from``) of what was raised. Not
    the implicit context: a handler's own error raised while handling a fault is its own."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if is_broker_fault(exc) or _is_database_fault(exc):
            return True
        exc = exc.__cause__
    return False
