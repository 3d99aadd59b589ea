"""Tampering with a service log is detected and the first bad position is named — even by
someone who can drop the append-only triggers (as a database administrator could)."""
import pytest
from sqlalchemy import text

from kernel import migrate
from kernel.db import create_service_engine, transaction
from kernel.hashchain import verify_log
from kernel.store import SqlAlchemyEventStore
from tests.kernel.support import note, test_catalogue


@pytest.fixture
def log(database_url):
    migrate.upgrade("kerneltest", database_url)
    engine = create_service_engine(database_url)
    store = SqlAlchemyEventStore(engine, "kerneltest", test_catalogue())
    for number in range(10):
        with transaction(engine) as conn:
            store.append(conn, [note("s", number)], {"s": number})
    with transaction(engine) as conn:   # the attacker lifts the guard
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER events_no_update_or_delete ON events"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
    yield engine
    engine.dispose()


def tamper(engine, *statements):
    """Each statement is SQL, or (SQL, bind parameters)."""
    with transaction(engine) as conn:
        for statement in statements:
            sql, params = statement if isinstance(statement, tuple) else (statement, {})
            conn.execute(text(sql), params)


def test_intact_log_verifies(log):
    report = verify_log(log)
    assert report.ok and report.checked == 10 and len(report.head_hash) == 64


def test_edited_payload_is_named(log):
    tamper(log, ("UPDATE events SET data = :data WHERE position = 4", {"data": '{"number":99,"text":"hello"}'}))
    report = verify_log(log)
    assert not report.ok and report.first_bad_position == 4 and "edited" in report.problem


def test_removed_row_is_named(log):
    tamper(log, "DELETE FROM events WHERE position = 6")
    report = verify_log(log)
    assert not report.ok and report.first_bad_position == 6 and "missing" in report.problem


def test_reordered_rows_are_named(log):
    # Swap the contents of positions 3 and 5 (positions stay, so no gap).
    tamper(log, "UPDATE events SET position = -3 WHERE position = 3",
           "UPDATE events SET position = 3 WHERE position = 5",
           "UPDATE events SET position = 5 WHERE position = -3")
    report = verify_log(log)
    assert not report.ok and report.first_bad_position == 3


def test_recomputed_hash_still_breaks_the_link(log):
    # An editor who fixes up the row's own hash is caught by the next row's previous_hash.
    from sqlalchemy import select

    from kernel.schema import events
    from kernel.store import row_hash
    with log.connect() as conn:
        row = dict(conn.execute(select(events).where(events.c.position == 7)).first()._mapping)
    row["data"] = '{"number":700,"text":"hello"}'
    new_hash = row_hash(row)
    tamper(log, ("UPDATE events SET data = :data, hash = :hash WHERE position = 7",
                 {"data": row["data"], "hash": new_hash}))
    report = verify_log(log)
    assert not report.ok and report.first_bad_position == 8 and "previous_hash" in report.problem
