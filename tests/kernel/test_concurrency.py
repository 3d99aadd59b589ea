"""Concurrent appends to the same stream: exactly one wins, the other gets ConcurrencyError
and writes nothing — on the real databases, with writers really overlapping."""
import threading

import pytest

from kernel import migrate
from kernel.db import create_service_engine, transaction
from kernel.errors import ConcurrencyError
from kernel.hashchain import verify_log
from kernel.store import SqlAlchemyEventStore
from tests.kernel.support import note, test_catalogue


@pytest.fixture
def store(database_url):
    migrate.upgrade("kerneltest", database_url)
    engine = create_service_engine(database_url)
    yield SqlAlchemyEventStore(engine, "kerneltest", test_catalogue())
    engine.dispose()


def test_two_writers_same_expected_version_one_conflict(store):
    with transaction(store.engine) as conn:
        store.append(conn, [note("elder", 0)], {"elder": 0})
    both_read = threading.Barrier(2, timeout=10)
    outcomes = []

    def writer(number):
        try:
            version = store.stream_version("elder")   # both read version 1 ...
            both_read.wait()                          # ... before either appends
            with transaction(store.engine) as conn:
                store.append(conn, [note("elder", number)], {"elder": version})
            outcomes.append("appended")
        except ConcurrencyError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["appended", "conflict"]
    assert store.stream_version("elder") == 2
    assert verify_log(store.engine).ok


def test_many_concurrent_writers_to_different_streams_keep_a_gapless_chain(store):
    errors = []

    def writer(stream):
        try:
            for number in range(10):
                with transaction(store.engine) as conn:
                    store.append(conn, [note(stream, number)], {stream: number})
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(f"s{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    report = verify_log(store.engine)
    assert report.ok and report.checked == 60
    assert [e.position for e in store.read_all(0, 100)] == list(range(1, 61))
