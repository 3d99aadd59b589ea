"""Holding the checkpoints other services publish: every service is a witness of the others'
logs (and the audit service of all of them). A rewrite then has to fool every agency's
database, not one.

``checkpoint_witness(sources, own)`` builds a mixin with one durable handler per other
source (``on_<source>_checkpoint``); a service class lists it among its bases.
"""
from __future__ import annotations

import structlog
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from kernel.checkpoints import CHECKPOINT_EVENT, Checkpoint, HeldCheckpoint
from kernel.consumer import durable_event_handler
from kernel.schema import held_checkpoints

log = structlog.get_logger(__name__)


def hold(uow, event) -> bool:
    """Keep the checkpoint unless this tree size is already held; a different root for a held
    size is a fork (or a rewrite) and is logged as an error, the first root stays."""
    data = event.data
    if data["source"] != event.source:
        log.error("a service published another service's checkpoint; not held", publisher=event.source,
                  source=data["source"])
        return False
    held = uow.conn.execute(select(held_checkpoints.c.root_hash).where(
        held_checkpoints.c.source == data["source"], held_checkpoints.c.tree_size == data["tree_size"])).scalar()
    if held is not None:
        if held != data["root_hash"]:
            log.error("two different roots for the same tree size: the log was forked or rewritten",
                      source=data["source"], tree_size=data["tree_size"], held_root=held, new_root=data["root_hash"])
        return False
    # The event's own position and hash: a stored hash at a known position of the source's log.
    uow.conn.execute(insert(held_checkpoints), {**{k: data[k] for k in (
        "source", "tree_size", "root_hash", "sealed_at", "key_id", "signature")}, "event_id": event.id,
        "received_at": uow.now().isoformat(), "event_position": event.position, "event_hash": event.hash or None})
    log.info("checkpoint held", source=data["source"], tree_size=data["tree_size"])
    return True


def checkpoint_witness(sources, own: str | None = None) -> type:
    namespace = {f"on_{source}_checkpoint": durable_event_handler(source, [CHECKPOINT_EVENT])(
        _holder(f"on_{source}_checkpoint")) for source in sources if source != own}
    return type("CheckpointWitness", (), namespace)


def _holder(name: str):
    """A handler method named ``name`` (the consumer's queue is named after it)."""
    def handler(self, event, uow):
        hold(uow, event)
    handler.__name__ = handler.__qualname__ = name
    return handler


def held_checkpoints_of(engine: Engine, source: str) -> list[Checkpoint]:
    with engine.connect() as conn:
        rows = conn.execute(select(held_checkpoints).where(held_checkpoints.c.source == source)
                            .order_by(held_checkpoints.c.tree_size)).all()
    return [Checkpoint.from_dict(dict(r._mapping)) for r in rows]


def held_evidence_of(engine: Engine, source: str, witness: str) -> list[HeldCheckpoint]:
    """The checkpoints this witness holds for ``source`` with where each one's event sat in
    the source's log when it arrived (``kernel.checkpoints.check_log_against`` uses both)."""
    with engine.connect() as conn:
        rows = conn.execute(select(held_checkpoints).where(held_checkpoints.c.source == source)
                            .order_by(held_checkpoints.c.tree_size)).all()
    return [HeldCheckpoint(Checkpoint.from_dict(dict(r._mapping)), r.event_position, r.event_hash, (witness,))
            for r in rows]
