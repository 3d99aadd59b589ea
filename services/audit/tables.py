"""The witness's own table: checkpoints other agencies published, as received."""
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import Engine

from kernel.checkpoints import Checkpoint

audit_metadata = MetaData()

held_checkpoints = Table(
    "held_checkpoints", audit_metadata,
    Column("source", String(64), primary_key=True),
    Column("tree_size", Integer, primary_key=True),
    Column("root_hash", String(64), nullable=False),
    Column("sealed_at", String(40), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", Text, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("received_at", String(40), nullable=False),
)


def held_checkpoints_of(witness_engine: Engine, source: str) -> list[Checkpoint]:
    with witness_engine.connect() as conn:
        rows = conn.execute(select(held_checkpoints).where(held_checkpoints.c.source == source)
                            .order_by(held_checkpoints.c.tree_size)).all()
    return [Checkpoint.from_dict(dict(r._mapping)) for r in rows]
