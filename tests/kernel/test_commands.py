"""Commands applied at most once per command id (kernel.commands), through the real broker
and both databases: what a second delivery of an RPC request (a broker node died before the
ack) must do — answer as the first time, append nothing."""
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select, update

from kernel import migrate
from kernel.db import create_service_engine
from kernel.errors import CommandIdReused, CommandRejected, ConflictError
from kernel.schema import applied_commands, events
from tests.kernel.services import CommandTaker


@pytest.fixture
def taker(rabbit_config, database_url, container_factory):
    migrate.upgrade("kernelcommands", database_url)
    config = {**rabbit_config, "DATABASES": {"kernelcommands": database_url}, "RELAY": {"poll_interval": 0.1}}
    container_factory(CommandTaker, config).start()
    engine = create_service_engine(database_url)

    def call(method, *args, command_id=None):
        context = {"command_id": command_id} if command_id else None
        with ServiceRpcProxy("kernelcommands", config, context_data=context) as service:
            return getattr(service, method)(*args)

    def count(stream_id=None):
        statement = select(func.count()).select_from(events)
        if stream_id:
            statement = statement.where(events.c.stream_id == stream_id)
        with engine.connect() as conn:
            return conn.execute(statement).scalar()

    call.count, call.engine = count, engine
    yield call
    engine.dispose()


def test_a_command_delivered_again_answers_as_the_first_time_and_appends_nothing(taker):
    first = taker("take_notes_once", "s-1", [1, 2], command_id="cmd-1")
    assert first == {"stream_id": "s-1", "version": 2} and taker.count("s-1") == 2
    assert taker("take_notes_once", "s-1", [1, 2], command_id="cmd-1") == first
    assert taker.count("s-1") == 2
    # A new id is a new command; no id at all keeps the old at-least-once behaviour.
    assert taker("take_notes_once", "s-1", [1, 2], command_id="cmd-2")["version"] == 4
    assert taker("take_notes_once", "s-1", [3])["version"] == 5
    assert taker("take_notes_once", "s-1", [3])["version"] == 6
    with taker.engine.connect() as conn:
        kept = {row.command_id: row for row in conn.execute(select(applied_commands))}
    assert set(kept) == {"cmd-1", "cmd-2"} and kept["cmd-1"].method == "take_notes_once"


def test_the_same_id_for_another_request_is_a_conflict_naming_the_command_id(taker):
    taker("take_notes_once", "s-1", [1], command_id="cmd-1")
    before = taker.count()
    with pytest.raises(CommandIdReused) as refused:
        taker("take_notes_once", "s-1", [9], command_id="cmd-1")
    assert refused.value.field == "command_id" and "another request" in refused.value.message
    assert refused.value.code == "command_id_reused"
    assert taker.count() == before


def test_a_refused_command_keeps_no_id(taker):
    for _ in range(2):
        with pytest.raises(CommandRejected):
            taker("take_notes_once", "s-1", [], command_id="cmd-1")
    with taker.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(applied_commands)).scalar() == 0


def test_an_applied_command_whose_answer_was_lost_is_not_applied_again(taker):
    taker("take_notes_once", "s-1", [1], command_id="cmd-1")
    # As if the process had died between the commit and keeping the answer.
    with taker.engine.begin() as conn:
        conn.execute(update(applied_commands).values(answer=None))
    with pytest.raises(ConflictError) as refused:
        taker("take_notes_once", "s-1", [1], command_id="cmd-1")
    assert "answer was not kept" in refused.value.message
    assert taker.count("s-1") == 1


def test_a_command_declared_idempotent_runs_again_and_keeps_no_id(taker):
    assert taker("take_notes_in_steps", "s-2", [1, 2], command_id="cmd-1") == 2
    assert taker("take_notes_in_steps", "s-2", [1, 2], command_id="cmd-1") == 2
    assert taker.count("s-2") == 4
    with taker.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(applied_commands)).scalar() == 0


def test_two_deliveries_racing_record_the_id_once(database_url):
    """The second of two deliveries applied at once fails at the id's primary key, so its
    transaction (events included) rolls back: a conflict, never a second effect."""
    from kernel.commands import CommandKey, record
    from kernel.clock import utc_now
    from kernel.db import transaction
    migrate.upgrade("kernelcommands", database_url)
    engine = create_service_engine(database_url)
    key = CommandKey("cmd-1", "take_notes_once", "f" * 64)
    with transaction(engine) as conn:
        record(conn, key, utc_now())
    with pytest.raises(ConflictError) as refused:
        with transaction(engine) as conn:
            record(conn, key, utc_now())
    assert refused.value.field == "command_id" and "another delivery" in refused.value.message
    engine.dispose()
