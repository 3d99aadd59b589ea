"""The tail of a log is sealed: a checkpoint follows every relayed batch and the witnesses hold
it with the position and hash its own event had, so `audit verify` catches the last events
deleted or rewritten with a recomputed chain, names where the log was cut, and locates a
rewrite to the batch it is in (exactly when that batch was one event) instead of "after
position 0". On real SQLite and PostgreSQL, through the CLI an auditor runs."""
import json

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from kernel import migrate
from kernel.checkpoints import CheckpointSigner, LogSealer, audit_log, init_keys, load_public_keys
from kernel.clock import FixedClock
from kernel.db import create_service_engine, transaction
from kernel.schema import events
from kernel.store import SqlAlchemyEventStore, row_hash
from kernel.uow import unit_of_work
from kernel.witness import held_evidence_of, hold
from tests.audit.test_checkpoints import catalogue
from tests.kernel.support import note

# Relayed batches of 4, 3, 1 and 2 events, each sealed when published. The log then reads:
# 1-4, checkpoint(4) at 5, 6-8, checkpoint(8) at 9, 10, checkpoint(10) at 11, 12-13, checkpoint(13) at 14.
BATCHES = (4, 3, 1, 2)


@pytest.fixture
def relayed(database_url, tmp_path, monkeypatch):
    migrate.upgrade("registry", database_url)
    witness_url = f"sqlite:///{tmp_path / 'audit.db'}"
    migrate.upgrade("audit", witness_url)
    engine, witness = create_service_engine(database_url), create_service_engine(witness_url)
    store = SqlAlchemyEventStore(engine, "registry", catalogue())
    key_dir = tmp_path / "keys"
    init_keys(["registry"], key_dir)
    clock = FixedClock()
    sealer = LogSealer(engine, store, CheckpointSigner.from_key_dir("registry", key_dir), clock)
    number = 0
    for size in BATCHES:
        for _ in range(size):
            with transaction(engine) as conn:
                store.append(conn, [note("s", number)], {"s": number})
            number += 1
        assert sealer.seal() is not None
        [checkpoint_event] = store.read_all(store.last_position() - 1, 1)
        # The witness's own handler, given the checkpoint event as the relay published it.
        with unit_of_work(witness, SqlAlchemyEventStore(witness, "audit", catalogue()), clock) as uow:
            assert hold(uow, checkpoint_event)
        clock.advance(minutes=1)
    assert sealer.seal() is None
    witness.dispose()
    with transaction(engine) as conn:       # as an attacker with the database would
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER events_no_update_or_delete ON events"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
    for name, value in (("REGISTRY_DATABASE_URL", database_url), ("AUDIT_DATABASE_URL", witness_url),
                        ("CHECKPOINT_KEY_DIR", str(key_dir))):
        monkeypatch.setenv(name, value)
    yield engine
    engine.dispose()


def verify():
    from cli.audit import audit_app
    result = CliRunner().invoke(audit_app, ["verify", "registry", "--json"])
    [report] = json.loads(result.stdout)
    return result.exit_code, report, [c["problem"] for c in report["checkpoints"] if c["problem"]]


def delete_after(engine, position: int) -> None:
    with transaction(engine) as conn:
        conn.execute(text("DELETE FROM events WHERE position > :p"), {"p": position})


def rewrite_from(engine, position: int, column: str, value: str) -> None:
    """Edit one column of one event and recompute every hash from it on: a self-consistent chain."""
    with transaction(engine) as conn:
        conn.execute(text(f"UPDATE events SET {column} = :v WHERE position = :p"), {"v": value, "p": position})
        rows = [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.position))]
        previous = rows[position - 2]["hash"] if position > 1 else "0" * 64
        for row in rows[position - 1:]:
            row["previous_hash"], row["hash"] = previous, row_hash({**row, "previous_hash": previous})
            previous = row["hash"]
            conn.execute(text("UPDATE events SET previous_hash = :ph, hash = :h WHERE position = :p"),
                         {"ph": row["previous_hash"], "h": row["hash"], "p": row["position"]})


def test_the_relayed_log_verifies_against_every_checkpoint_found(relayed):
    code, report, problems = verify()
    assert (code, problems, report["first_bad"]) == (0, [], None)
    assert [c["tree_size"] for c in report["checkpoints"]] == [4, 8, 10, 13]
    assert all(c["held_by"] == ["audit", "own log"] for c in report["checkpoints"])


def test_deleting_the_last_relayed_events_is_caught_and_the_cut_named(relayed):
    delete_after(relayed, 11)                     # events 12, 13 and the checkpoint at 14
    code, report, problems = verify()
    assert code == 1 and report["chain"]["ok"]    # what is left is a valid chain
    assert report["first_bad"] == {"from": 12, "to": 12, "kind": "truncated"}
    assert problems == ["the log has 11 events but 13 were sealed (events removed from the tail after position 11)"]


def test_deleting_only_the_last_checkpoint_event_is_caught_by_the_hash_the_witness_holds(relayed):
    delete_after(relayed, 13)
    code, report, problems = verify()
    assert code == 1 and report["first_bad"]["kind"] == "truncated"
    assert problems == ["its checkpoint event at position 14 is gone: the log has 13 events "
                        "(events removed from the tail after position 13)"]


def test_a_tail_rewrite_with_a_recomputed_chain_is_located_at_the_edited_position(relayed):
    rewrite_from(relayed, 14, "recorded_time", "2026-11-23T00:00:00.000000Z")   # the last event
    code, report, problems = verify()
    assert code == 1 and report["chain"]["ok"]
    assert report["first_bad"] == {"from": 14, "to": 14, "kind": "rewritten"}
    assert problems == ["the log's hash at position 14 (this checkpoint's event) is not the one the witnesses "
                        "received (history rewritten at position 14; events 1..13 still match)"]


def test_a_rewrite_of_the_last_sealed_batch_is_located_to_that_batch(relayed):
    rewrite_from(relayed, 13, "data", '{"number":99,"text":"hello"}')
    code, report, problems = verify()
    assert code == 1 and report["chain"]["ok"]
    assert report["first_bad"] == {"from": 12, "to": 13, "kind": "rewritten"}   # events 12-13 were one batch
    assert problems == ["the first 13 events no longer produce the sealed root "
                        "(history rewritten at a position in 12..13; events 1..11 still match)"]


@pytest.mark.parametrize("edited, located", [(10, (10, 10)), (7, (6, 8))])
def test_a_rewrite_in_the_middle_is_located_at_the_first_differing_position(relayed, edited, located):
    rewrite_from(relayed, edited, "data", '{"number":77,"text":"hello"}')
    code, report, problems = verify()
    assert code == 1 and report["chain"]["ok"]
    assert report["first_bad"] == {"from": located[0], "to": located[1], "kind": "rewritten"}
    bad = [c for c in report["checkpoints"] if not c["ok"]]
    assert [c["tree_size"] for c in bad] == [size for size in (4, 8, 10, 13) if size >= edited]
    assert all((c["first_bad_from"], c["first_bad_to"]) == located for c in bad)
    assert not any("after position 0" in p or "in 1.." in p for p in problems)


def test_the_checkpoints_in_the_log_itself_count_when_no_witness_holds_them(relayed, tmp_path):
    """The service's own checkpoints: a rewrite before the relay brought one to any witness."""
    keys = load_public_keys(tmp_path / "keys" / "public_keys.yml")
    rewrite_from(relayed, 7, "data", '{"number":77,"text":"hello"}')
    report = audit_log("registry", relayed, [], keys)
    assert report.chain.ok and not report.ok
    assert report.first_bad == {"from": 5, "to": 8, "kind": "rewritten"}     # no witness hash at 5 or 9 here
    assert audit_log("registry", relayed, [], keys, own=False).ok           # what today's verify saw


def test_a_witness_holds_where_each_checkpoint_event_sat(relayed, tmp_path):
    witness = create_service_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    held = held_evidence_of(witness, "registry", "audit")
    witness.dispose()
    assert [(h.checkpoint.tree_size, h.event_position) for h in held] == [(4, 5), (8, 9), (10, 11), (13, 14)]
    with relayed.connect() as conn:
        hashes = dict(conn.execute(select(events.c.position, events.c.hash)).all())
    assert all(h.event_hash == hashes[h.event_position] for h in held)


def test_two_witnesses_that_recorded_a_checkpoint_event_differently_are_both_checked(relayed, tmp_path):
    """A fork on the wire (one witness was sent another event at position 9): the record the
    live log contradicts is reported, the one it matches is not."""
    from dataclasses import replace
    witness = create_service_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    held = held_evidence_of(witness, "registry", "audit")
    witness.dispose()
    forked = replace(held[1], event_hash="ab" * 32, held_by=("visits",))
    report = audit_log("registry", relayed, held + [forked], load_public_keys(tmp_path / "keys" / "public_keys.yml"))
    assert not report.ok
    [bad] = [f for f in report.findings if not f.ok]
    assert (bad.tree_size, bad.held_by, bad.first_bad_from, bad.first_bad_to) == (8, ("visits",), 9, 9)   # root 8 still matches
    assert "position 9 (this checkpoint's event) is not the one the witnesses received" in bad.problem


def test_the_table_ends_with_where_each_log_first_differs(relayed):
    from cli.audit import audit_app
    rewrite_from(relayed, 7, "data", '{"number":77,"text":"hello"}')
    result = CliRunner().invoke(audit_app, ["verify", "registry"], terminal_width=200)
    assert result.exit_code == 1
    assert "✗ registry: history was rewritten from a position in 6..8" in result.output
    delete_after(relayed, 5)
    result = CliRunner().invoke(audit_app, ["verify", "registry"], terminal_width=200)
    assert "✗ registry: the log was cut: events are missing from position 6" in result.output
