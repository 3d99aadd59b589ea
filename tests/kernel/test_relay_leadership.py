"""On PostgreSQL only one replica's relay publishes a log at a time (advisory lock)."""
from kernel import migrate
from kernel.db import create_service_engine
from kernel.relay import OutboxRelay
from kernel.store import SqlAlchemyEventStore
from tests.kernel.support import test_catalogue


def test_one_relay_leader_per_log_and_leadership_passes_on_release(postgres_url):
    migrate.upgrade("kerneltest", postgres_url)
    engines = [create_service_engine(postgres_url) for _ in range(2)]
    first, second = (OutboxRelay(engine, SqlAlchemyEventStore(engine, "kerneltest", test_catalogue()),
                                 "amqp://guest:guest@127.0.0.1:5672/") for engine in engines)
    assert first.acquire_leadership() is True
    assert second.acquire_leadership() is False
    first.release()
    assert second.acquire_leadership() is True
    second.release()
    for engine in engines:
        engine.dispose()


def test_a_leader_whose_lock_connection_died_finds_out_before_its_next_batch(postgres_url):
    from sqlalchemy import text
    migrate.upgrade("kerneltest", postgres_url)
    engines = [create_service_engine(postgres_url) for _ in range(3)]
    first, second = (OutboxRelay(engine, SqlAlchemyEventStore(engine, "kerneltest", test_catalogue()),
                                 "amqp://guest:guest@127.0.0.1:5672/") for engine in engines[:2])
    assert first.acquire_leadership() is True
    pid = first._leader_connection.execute(text("SELECT pg_backend_pid()")).scalar()
    first._leader_connection.commit()
    with engines[2].connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert second.acquire_leadership() is True      # the lock died with the connection
    assert first.acquire_leadership() is False      # ... and the old leader steps down
    second.release()
    first.release()
    for engine in engines:
        engine.dispose()
