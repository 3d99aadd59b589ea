"""Tampering with a sealed log, on real SQLite and PostgreSQL: the chain catches edits, gaps
and reordering; the checkpoints a witness holds catch what the chain cannot — a truncated
tail, and a chain recomputed after an edit — and name where the rewrite starts."""
import json

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from contracts import audit as audit_contracts
from kernel import migrate
from kernel.checkpoints import (Checkpoint, CheckpointSigner, audit_log, init_keys, load_public_keys, seal_log)
from kernel.clock import FixedClock
from kernel.db import create_service_engine, transaction
from kernel.schema import events
from kernel.store import SqlAlchemyEventStore, row_hash
from tests.kernel.support import note, test_catalogue


def catalogue():
    merged = test_catalogue()
    merged.merge(audit_contracts.catalogue())
    return merged


@pytest.fixture
def sealed(database_url, tmp_path):
    """A registry-named log of 10 events, sealed; 5 more, sealed again (17 rows in all:
    the two checkpoint events are part of the log too). Triggers dropped, as an attacker would."""
    migrate.upgrade("registry", database_url)
    engine = create_service_engine(database_url)
    store = SqlAlchemyEventStore(engine, "registry", catalogue())
    key_dir = tmp_path / "keys"
    init_keys(["registry"], key_dir)
    signer, clock = CheckpointSigner.from_key_dir("registry", key_dir), FixedClock()
    held = []
    for first, last in ((0, 10), (10, 15)):
        for number in range(first, last):
            with transaction(engine) as conn:
                store.append(conn, [note("s", number)], {"s": number})
        held.append(seal_log(engine, store, signer, clock))
        clock.advance(minutes=5)
    assert seal_log(engine, store, signer, clock) is None      # nothing new since the last seal
    with transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER events_no_update_or_delete ON events"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
    yield engine, held, load_public_keys(key_dir / "public_keys.yml"), key_dir
    engine.dispose()


def audit(sealed_log):
    engine, held, keys, _ = sealed_log
    return audit_log("registry", engine, held, keys)


def rewrite_from(engine, position: int, data: str) -> None:
    """Edit one payload and recompute every hash after it: a self-consistent forged chain."""
    with transaction(engine) as conn:
        conn.execute(text("UPDATE events SET data = :data WHERE position = :p"), {"data": data, "p": position})
        rows = [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.position))]
        previous = rows[position - 2]["hash"] if position > 1 else "0" * 64
        for row in rows[position - 1:]:
            row["previous_hash"] = previous
            row["hash"] = previous = row_hash(row)
            conn.execute(text("UPDATE events SET previous_hash = :ph, hash = :h WHERE position = :p"),
                         {"ph": row["previous_hash"], "h": row["hash"], "p": row["position"]})


def test_an_intact_sealed_log_verifies(sealed):
    report = audit(sealed)
    assert report.ok and report.chain.checked == 17
    assert [f.tree_size for f in report.findings] == [10, 16]


def test_a_truncated_tail_passes_the_chain_but_not_the_checkpoint(sealed):
    engine = sealed[0]
    with transaction(engine) as conn:
        conn.execute(text("DELETE FROM events WHERE position > 13"))
    report = audit(sealed)
    assert report.chain.ok                       # what is left is a valid chain
    assert not report.ok
    assert "13 events but 16 were sealed" in report.findings[1].problem


def test_a_recomputed_chain_after_an_edit_is_caught_only_by_checkpoints(sealed):
    rewrite_from(sealed[0], 4, '{"number":99,"text":"hello"}')
    report = audit(sealed)
    assert report.chain.ok
    assert [f.ok for f in report.findings] == [False, False]
    # Both checkpoints cover position 4: the rewrite is located to the first one's range.
    assert "history rewritten at a position in 1..10" in report.findings[0].problem
    assert (report.findings[0].first_bad_from, report.findings[0].first_bad_to) == (1, 10)


def test_a_rewrite_after_the_first_checkpoint_is_located_between_checkpoints(sealed):
    rewrite_from(sealed[0], 13, '{"number":77,"text":"hello"}')
    report = audit(sealed)
    assert report.findings[0].ok and not report.findings[1].ok
    assert report.findings[1].first_bad_after == 10


def test_edits_gaps_and_reordering_are_named_by_the_chain(sealed):
    engine = sealed[0]
    with transaction(engine) as conn:
        conn.execute(text("DELETE FROM events WHERE position = 6"))
    report = audit(sealed)
    assert not report.chain.ok and report.chain.first_bad_position == 6


def test_a_forged_or_foreign_signature_is_refused(sealed):
    engine, held, keys, key_dir = sealed
    forged = Checkpoint(**{**held[0].to_dict(), "root_hash": "ab" * 32})
    report = audit_log("registry", engine, [forged], keys, own=False)
    assert "signature does not match" in report.findings[0].problem
    foreign = Checkpoint(**{**held[0].to_dict(), "source": "visits"})
    assert "belongs to registry" in audit_log("registry", engine, [foreign], keys, own=False).findings[0].problem


def test_the_cli_verifies_and_exits_non_zero_on_tampering(sealed, database_url, tmp_path, monkeypatch):
    engine, held, _, key_dir = sealed
    witness_url = f"sqlite:///{tmp_path / 'audit.db'}"
    migrate.upgrade("audit", witness_url)
    witness = create_service_engine(witness_url)
    from kernel.schema import held_checkpoints
    with transaction(witness) as conn:
        for checkpoint in held:
            conn.execute(held_checkpoints.insert(), {**checkpoint.to_dict(), "event_id": "e",
                                                     "received_at": "2026-11-23T00:00:00Z"})
    witness.dispose()
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("AUDIT_DATABASE_URL", witness_url)
    monkeypatch.setenv("CHECKPOINT_KEY_DIR", str(key_dir))
    from cli.audit import audit_app
    runner = CliRunner()
    result = runner.invoke(audit_app, ["verify", "registry", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["ok"] is True
    rewrite_from(engine, 4, '{"number":99,"text":"hello"}')
    result = runner.invoke(audit_app, ["verify", "registry", "--json"])
    assert result.exit_code == 1
    assert runner.invoke(audit_app, ["verify", "bakery"]).exit_code == 2


@pytest.fixture
def audited(sealed, database_url, tmp_path, monkeypatch):
    """The sealed log as the CLI sees it: its checkpoints held by a witness database."""
    engine, held, _, key_dir = sealed
    witness_url = f"sqlite:///{tmp_path / 'witness.db'}"
    migrate.upgrade("audit", witness_url)
    witness = create_service_engine(witness_url)
    from kernel.schema import held_checkpoints
    with transaction(witness) as conn:
        for checkpoint in held:
            conn.execute(held_checkpoints.insert(), {**checkpoint.to_dict(), "event_id": "e",
                                                     "received_at": "2026-11-23T00:00:00Z"})
    witness.dispose()
    for name, value in (("REGISTRY_DATABASE_URL", database_url), ("AUDIT_DATABASE_URL", witness_url),
                        ("CHECKPOINT_KEY_DIR", str(key_dir))):
        monkeypatch.setenv(name, value)
    from cli.audit import audit_app
    return CliRunner(), audit_app, engine


def test_an_event_proof_checks_offline_and_a_doctored_one_does_not(audited, tmp_path):
    runner, app, _ = audited
    proof_file = tmp_path / "proof.json"
    result = runner.invoke(app, ["prove", "registry", "7", "--out", str(proof_file)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["check-proof", str(proof_file)]).exit_code == 0
    proof = json.loads(proof_file.read_text())
    assert proof["checkpoint_size"] == 10           # the first checkpoint that covers position 7
    proof["event"]["data"] = proof["event"]["data"].replace('"number":6', '"number":60')
    proof_file.write_text(json.dumps(proof))
    result = runner.invoke(app, ["check-proof", str(proof_file)])
    assert result.exit_code == 1 and "edited" in result.output
    assert runner.invoke(app, ["prove", "registry", "999"]).exit_code == 2


def test_a_bundle_verifies_offline_and_any_change_to_it_is_caught(audited, tmp_path):
    runner, app, _ = audited
    bundle = tmp_path / "bundle"
    result = runner.invoke(app, ["export", str(bundle), "--service", "registry"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["verify", "--bundle", str(bundle), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["checked"] == {"registry": 17} and report["unsealed"] == {"registry": 1}   # the last seal event
    lines = (bundle / "registry.events.jsonl").read_text().splitlines()
    doctored = json.loads(lines[3])
    doctored["event"]["data"] = doctored["event"]["data"].replace('"number":3', '"number":33')
    assert doctored != json.loads(lines[3])
    lines[3] = json.dumps(doctored)
    (bundle / "registry.events.jsonl").write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["verify", "--bundle", str(bundle)])
    assert result.exit_code == 1 and "altered" in result.output
    (bundle / "checkpoints.json").unlink()
    result = runner.invoke(app, ["verify", "--bundle", str(bundle)])
    assert result.exit_code == 1 and "missing" in result.output
    assert runner.invoke(app, ["verify", "--bundle", str(tmp_path / "nowhere")]).exit_code == 2


def test_a_bundle_rewritten_consistently_is_still_caught_by_the_signatures(audited, tmp_path):
    runner, app, engine = audited
    bundle = tmp_path / "bundle"
    rewrite_from(engine, 4, '{"number":99,"text":"hello"}')   # then export the rewritten log
    assert runner.invoke(app, ["export", str(bundle), "--service", "registry"]).exit_code == 0
    result = runner.invoke(app, ["verify", "--bundle", str(bundle), "--json"])
    assert result.exit_code == 1
    assert any("not included in the log sealed" in p for p in json.loads(result.stdout)["problems"])
