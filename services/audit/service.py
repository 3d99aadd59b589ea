"""The audit witness: holds the signed checkpoints every service publishes about its log,
in a database those services do not write to. ``eldercare audit verify`` checks each live
log against them. A checkpoint whose tree size is already held with another root is a fork:
it is kept out and logged as an error (the first one received stays the evidence)."""
from __future__ import annotations

import structlog
from sqlalchemy import insert, select

from contracts import CATALOGUE
from contracts.audit import SEALING_SERVICES
from kernel.consumer import durable_event_handler
from kernel.providers import LoggingContext, ServiceDatabase
from kernel.rpc import command_rpc
from services.audit.tables import held_checkpoints

log = structlog.get_logger(__name__)
CHECKPOINT = ["audit.checkpoint_sealed.v1"]


def hold(uow, event) -> None:
    data = event.data
    held = uow.conn.execute(select(held_checkpoints.c.root_hash).where(
        held_checkpoints.c.source == data["source"], held_checkpoints.c.tree_size == data["tree_size"])).scalar()
    if held is not None:
        if held != data["root_hash"]:
            log.error("two different roots for the same tree size: the log was forked or rewritten",
                      source=data["source"], tree_size=data["tree_size"], held_root=held, new_root=data["root_hash"])
        return
    if data["source"] != event.source:
        log.error("a service published another service's checkpoint; not held", publisher=event.source,
                  source=data["source"])
        return
    uow.conn.execute(insert(held_checkpoints), {**{k: data[k] for k in (
        "source", "tree_size", "root_hash", "sealed_at", "key_id", "signature")}, "event_id": event.id,
        "received_at": uow.now().isoformat()})
    log.info("checkpoint held", source=data["source"], tree_size=data["tree_size"])


class AuditWitnessService:
    name = "audit"

    db = ServiceDatabase(CATALOGUE)
    log = LoggingContext()

    @durable_event_handler("registry", CHECKPOINT)
    def on_registry_checkpoint(self, event, uow):
        hold(uow, event)

    @durable_event_handler("visits", CHECKPOINT)
    def on_visits_checkpoint(self, event, uow):
        hold(uow, event)

    @durable_event_handler("facilities", CHECKPOINT)
    def on_facilities_checkpoint(self, event, uow):
        hold(uow, event)

    @durable_event_handler("notifications", CHECKPOINT)
    def on_notifications_checkpoint(self, event, uow):
        hold(uow, event)

    @durable_event_handler("subsidies", CHECKPOINT)
    def on_subsidies_checkpoint(self, event, uow):
        hold(uow, event)

    @command_rpc
    def held(self, source):
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(held_checkpoints).where(held_checkpoints.c.source == source)
                .order_by(held_checkpoints.c.tree_size))]

    @command_rpc
    def ping(self):
        return {"service": self.name, "sources": list(SEALING_SERVICES)}
