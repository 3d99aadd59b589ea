"""One contract suite for every event-store backend: in-memory, SQLite and PostgreSQL."""
from datetime import timedelta

import pytest
from sqlalchemy import text

from kernel import migrate
from kernel.db import create_service_engine, transaction
from kernel.errors import ConcurrencyError, EventSchemaError, UnknownEventTypeError, ValidationError
from kernel.hashchain import verify_log
from kernel.store import InMemoryEventStore, SqlAlchemyEventStore
from tests.kernel.support import T0, note, test_catalogue


class StoreUnderTest:
    """Wraps a backend so every test reads the same: append/read without caring about connections."""

    def __init__(self, store, engine=None):
        self.store, self.engine = store, engine

    def append(self, pending, expected):
        if self.engine is None:
            return self.store.append(None, pending, expected)
        with transaction(self.engine) as conn:
            return self.store.append(conn, pending, expected)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request):
    if request.param == "memory":
        yield StoreUnderTest(InMemoryEventStore("kerneltest", test_catalogue()))
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    migrate.upgrade("kerneltest", url)
    engine = create_service_engine(url)
    yield StoreUnderTest(SqlAlchemyEventStore(engine, "kerneltest", test_catalogue()), engine)
    engine.dispose()


def test_append_assigns_sequence_position_and_chain(backend):
    first = backend.append([note("a", 1), note("a", 2)], {"a": 0})
    second = backend.append([note("b", 3)], {"b": 0})
    assert [e.sequence for e in first + second] == [1, 2, 1]
    assert [e.position for e in first + second] == [1, 2, 3]
    assert second[0].previous_hash == first[1].hash
    assert all(e.hash == e.compute_hash() for e in first + second)
    assert backend.store.stream_version("a") == 2
    assert backend.store.last_position() == 3


def test_read_stream_and_read_all(backend):
    backend.append([note("a", 1)], {"a": 0})
    backend.append([note("b", 2)], {"b": 0})
    backend.append([note("a", 3)], {"a": 1})
    assert [e.data["number"] for e in backend.store.read_stream("a")] == [1, 3]
    assert [e.position for e in backend.store.read_all(after_position=1)] == [2, 3]
    assert [e.position for e in backend.store.read_all(after_position=0, limit=2)] == [1, 2]
    assert [e.data["number"] for e in backend.store.iter_all()] == [1, 2, 3]
    streams = backend.store.read_streams(["a", "b", "none"])
    assert {k: [e.data["number"] for e in v] for k, v in streams.items()} == {"a": [1, 3], "b": [2], "none": []}


def test_stale_expected_version_raises_and_writes_nothing(backend):
    backend.append([note("a", 1)], {"a": 0})
    with pytest.raises(ConcurrencyError) as refused:
        backend.append([note("a", 2), note("b", 9)], {"a": 0, "b": 0})
    assert refused.value.actual == 1 and refused.value.expected == 0
    assert backend.store.last_position() == 1
    assert backend.store.stream_version("b") == 0


def test_unknown_type_and_bad_payload_are_refused(backend):
    bad_type = note("a", 1)
    object.__setattr__(bad_type, "type", "kerneltest.note_taken.v9")
    with pytest.raises(UnknownEventTypeError, match="note_taken.v9"):
        backend.append([bad_type], {"a": 0})
    bad_payload = note("a", 1)
    object.__setattr__(bad_payload, "data", {"text": "x", "number": "not a number"})
    with pytest.raises(EventSchemaError, match="number"):
        backend.append([bad_payload], {"a": 0})
    with pytest.raises(ValidationError, match="jurisdiction"):
        backend.append([note("a", 1, jurisdiction="41")], {"a": 0})
    assert backend.store.last_position() == 0


def test_read_stream_as_of_effective_and_recorded_time(backend):
    backend.append([note("a", 1, days=0), note("a", 2, days=10), note("a", 3, days=20)], {"a": 0})
    as_of = backend.store.read_stream("a", effective_until=T0 + timedelta(days=10))
    assert [e.data["number"] for e in as_of] == [1, 2]
    recorded = backend.store.read_stream("a")[0].recorded_time
    assert backend.store.read_stream("a", recorded_until=recorded - timedelta(seconds=1)) == []


def test_envelope_round_trips_through_the_store(backend):
    appended = backend.append([note("a", 1, correlation_id="corr-1", causation_id="cause-1")], {"a": 0})[0]
    read = backend.store.read_stream("a")[0]
    assert read == appended
    assert read.correlation_id == "corr-1" and read.causation_id == "cause-1"


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_database_refuses_update_and_delete_of_events(dialect, request):
    url = request.getfixturevalue("sqlite_url" if dialect == "sqlite" else "postgres_url")
    migrate.upgrade("kerneltest", url)
    engine = create_service_engine(url)
    store = SqlAlchemyEventStore(engine, "kerneltest", test_catalogue())
    with transaction(engine) as conn:
        store.append(conn, [note("a", 1)], {"a": 0})
    for statement in ("UPDATE events SET data = '{}'", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"):
            with transaction(engine) as conn:
                conn.execute(text(statement))
    assert verify_log(engine).ok
    engine.dispose()


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kernel.envelope import PendingEvent  # noqa: E402
from tests.kernel.support import ACTOR, JURISDICTION  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(stream=st.text(min_size=1, max_size=20), text_value=st.text(max_size=30),
       number=st.integers(-2**53, 2**53), correlation=st.none() | st.text(max_size=20))
def test_fast_hash_equals_hash_of_canonical_json(stream, text_value, number, correlation):
    """The append path hashes a hand-assembled string; it must be byte-identical to the
    canonical JSON of the envelope for any strings (quotes, escapes, non-ASCII)."""
    store = InMemoryEventStore("kerneltest", test_catalogue())
    pending = PendingEvent(stream, "kerneltest.note_taken.v1", {"text": text_value, "number": number},
                           T0, ACTOR, JURISDICTION, correlation_id=correlation)
    envelope = store.append(None, [pending], {stream: 0})[0]
    assert envelope.hash == envelope.compute_hash()


def test_call_ids_longer_than_64_characters_fit(backend):
    """Causation ids are often nameko call ids ("service.method.<uuid>"), 70+ characters."""
    call_id = "registry.record_supporter_left.76be22df-16f2-48c5-b762-4332b45cd258-and-more"
    appended = backend.append([note("a", 1, correlation_id=call_id, causation_id=call_id)], {"a": 0})[0]
    assert backend.store.read_stream("a")[0].causation_id == call_id == appended.causation_id
    with pytest.raises(ValidationError, match="causation_id"):
        backend.append([note("a", 2, causation_id="x" * 256)], {"a": 1})
