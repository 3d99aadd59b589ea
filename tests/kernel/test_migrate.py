"""Migrations on PostgreSQL take one advisory lock per service, so that the init
containers of two new pods do not run the same upgrade at once."""
import threading
import time

import pytest

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError
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


def test_an_advisory_lock_is_held_by_one_holder_at_a_time(postgres_url):
    from kernel.db import advisory_lock, create_service_engine
    first, second = create_service_engine(postgres_url), create_service_engine(postgres_url)
    try:
        with advisory_lock(first, "notifications:deliver", wait=False) as mine:
            assert mine
            with advisory_lock(second, "notifications:deliver", wait=False) as theirs:
                assert not theirs                  # the other replica skips this tick
            with advisory_lock(second, "notifications:sweep", wait=False) as other_task:
                assert other_task                  # locks are per task
        with advisory_lock(second, "notifications:deliver", wait=False) as theirs:
            assert theirs                          # released with the block, pooled connection or not
    finally:
        first.dispose()
        second.dispose()


def test_timers_skip_the_tick_when_another_replica_holds_the_task():
    from contextlib import contextmanager
    from unittest import mock

    from nameko.testing.services import worker_factory

    from services.notifications.service import NotificationsService

    @contextmanager
    def held_elsewhere(task):
        yield False

    service = worker_factory(NotificationsService)
    service.db.exclusively = held_elsewhere
    with mock.patch.object(NotificationsService, "sweep") as sweep, \
            mock.patch.object(NotificationsService, "deliver_due") as deliver:
        service.sweep_on_timer()
        service.deliver_on_timer()
    assert not sweep.called and not deliver.called


def test_transactions_serialised_on_one_key_run_one_after_the_other(postgres_url):
    """The second holder of a key waits for the first's commit; another key does not wait."""
    from sqlalchemy import text

    from kernel.db import create_service_engine, serialise_in_transaction
    engine = create_service_engine(postgres_url)
    try:
        with engine.connect() as first, engine.connect() as second:
            first.begin()
            serialise_in_transaction(first, "departments:payment-file:run-1")
            second.begin()
            second.execute(text("SET LOCAL lock_timeout = '300ms'"))
            serialise_in_transaction(second, "departments:payment-file:run-2")
            with pytest.raises(OperationalError, match="lock timeout"):
                serialise_in_transaction(second, "departments:payment-file:run-1")
            second.rollback()
            first.commit()
            second.begin()
            serialise_in_transaction(second, "departments:payment-file:run-1")     # free once committed
            second.commit()
    finally:
        engine.dispose()
