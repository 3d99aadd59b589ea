"""Migrations on PostgreSQL take one advisory lock per service, so that the init
containers of two new pods do not run the same upgrade at once."""
import threading
import time

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from kernel.db import normalise_url
from kernel.migrate import upgrade


def _tables(url):
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_second_migrator_waits_for_the_first_then_finds_nothing_to_do(postgres_url):
    holder = create_engine(normalise_url(postgres_url), poolclass=NullPool)
    done, failures = threading.Event(), []

    def migrate():
        try:
            upgrade("registry", postgres_url)
        except Exception as exc:   # reported below, not lost in the thread
            failures.append(exc)
        finally:
            done.set()

    with holder.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext('eldercare-migrate:registry'))"))
        conn.commit()
        threading.Thread(target=migrate, daemon=True).start()
        time.sleep(1.5)
        assert not done.is_set() and "events" not in _tables(postgres_url)   # it waits for the holder
        conn.execute(text("SELECT pg_advisory_unlock(hashtext('eldercare-migrate:registry'))"))
        conn.commit()
    holder.dispose()
    assert done.wait(60) and not failures, failures
    assert {"events", "alembic_version"} <= _tables(postgres_url)
    upgrade("registry", postgres_url)              # and again: up to date, nothing to do


def test_concurrent_migrations_of_a_fresh_database_all_succeed(postgres_url):
    failures = []

    def migrate():
        try:
            upgrade("visits", postgres_url)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    assert "events" in _tables(postgres_url)
