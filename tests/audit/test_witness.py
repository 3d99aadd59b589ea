"""A service seals its log and the audit witness, another process with its own database,
holds the signed checkpoint it received through RabbitMQ, as soon as the relay published a
batch; the held checkpoint verifies the live log, and catches it once it is rewritten."""
import time

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select

from kernel import migrate
from kernel.checkpoints import CHECKPOINT_EVENT, audit_log, init_keys, load_public_keys
from kernel.db import create_service_engine
from kernel.providers import CheckpointSealer
from kernel.schema import events
from services.audit.service import AuditWitnessService
from kernel.witness import held_checkpoints_of, held_evidence_of
from services.registry.service import RegistryService
from tests.audit.test_checkpoints import rewrite_from
from tests.registry.test_service import CLERK, registration


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        eventlet.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def sealed_county(rabbit_config, database_url, tmp_path, container_factory):
    urls = {"registry": database_url, "audit": f"sqlite:///{tmp_path / 'audit.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    key_dir = tmp_path / "keys"
    init_keys(["registry"], key_dir)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": "2026-11-23", "RELAY": {"poll_interval": 0.1},
              "CHECKPOINTS": {"interval_seconds": 3600, "key_dir": str(key_dir)},
              "REGISTRY": {"status_review_interval_seconds": 3600}}
    container_factory(AuditWitnessService, config).start()
    registry = container_factory(RegistryService, config)
    registry.start()
    sealer = next(d for d in registry.extensions if isinstance(d, CheckpointSealer))
    with ServiceRpcProxy("registry", config) as proxy:
        yield proxy, sealer, urls, load_public_keys(key_dir / "public_keys.yml")


def test_a_checkpoint_follows_the_relayed_batch_and_the_witness_holds_it(sealed_county):
    registry, sealer, urls, keys = sealed_county      # hourly interval: only the relayed batch can cue a seal
    registry.register_elder(registration(left_on="2025-12-01"), CLERK)
    witness = create_service_engine(urls["audit"])
    wait_for(lambda: held_evidence_of(witness, "registry", "audit"))
    [held] = held_evidence_of(witness, "registry", "audit")
    assert held_checkpoints_of(witness, "registry") == [held.checkpoint]
    log = create_service_engine(urls["registry"])
    with log.connect() as conn:
        [row] = conn.execute(select(events.c.position, events.c.hash).where(events.c.type == CHECKPOINT_EVENT)).all()
    assert held.checkpoint.tree_size == row.position - 1 >= 3    # every event relayed before it is sealed
    assert (held.event_position, held.event_hash) == (row.position, row.hash)
    assert audit_log("registry", log, [held], keys).ok
    assert sealer.seal_now() is None                     # only the checkpoint event is new: nothing to seal
    _drop_guard(log)
    rewrite_from(log, 2, _edited_payload(log))
    report = audit_log("registry", log, [held], keys)
    assert report.chain.ok and not report.ok
    assert report.first_bad == {"from": 1, "to": row.position - 1, "kind": "rewritten"}
    witness.dispose()
    log.dispose()


def _drop_guard(engine):
    from sqlalchemy import text

    from kernel.db import transaction
    with transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER events_no_update_or_delete ON events"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))


def _edited_payload(engine):
    from sqlalchemy import text
    with engine.connect() as conn:
        data = conn.execute(text("SELECT data FROM events WHERE position = 2")).scalar()
    return data.replace("2026", "2025", 1)


def test_the_relayed_tail_cut_or_rewritten_fails_verify_with_the_position(sealed_county, monkeypatch):
    """Today's probe: the events relayed since the last (hourly) checkpoint could be deleted or
    rewritten and `audit verify` exited 0. Now the batch is sealed as it is relayed."""
    import json

    from typer.testing import CliRunner

    from cli.audit import audit_app
    registry, sealer, urls, _ = sealed_county
    registry.register_elder(registration(left_on="2025-12-01"), CLERK)
    witness = create_service_engine(urls["audit"])
    wait_for(lambda: held_evidence_of(witness, "registry", "audit"))
    [held] = held_evidence_of(witness, "registry", "audit")
    witness.dispose()
    sealer.container.stop()                  # the attacker works on a database nobody writes to
    for name, value in (("REGISTRY_DATABASE_URL", urls["registry"]), ("AUDIT_DATABASE_URL", urls["audit"]),
                        ("CHECKPOINT_KEY_DIR", str(sealer.key_dir))):
        monkeypatch.setenv(name, value)

    def verify():
        result = CliRunner().invoke(audit_app, ["verify", "registry", "--json"])
        return result.exit_code, json.loads(result.stdout)[0]["first_bad"]

    assert verify() == (0, None)
    log = create_service_engine(urls["registry"])
    _drop_guard(log)
    from tests.audit.test_sealed_tail import delete_after, rewrite_from as rewrite_column
    rewrite_column(log, held.event_position, "recorded_time", "2026-11-23T00:00:00.000000Z")   # the last event
    assert verify() == (1, {"from": held.event_position, "to": held.event_position, "kind": "rewritten"})
    delete_after(log, 1)
    assert verify() == (1, {"from": 2, "to": 2, "kind": "truncated"})
    log.dispose()
