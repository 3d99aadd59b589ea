"""Counting what a service wrote: its log without the checkpoints its relay seals after each
batch (they come on their own clock, not from the command a test sends)."""
from sqlalchemy import func, select

from kernel.checkpoints import CHECKPOINT_EVENT
from kernel.schema import events


def written_events():
    """``SELECT count(*)`` of the log's events other than checkpoints (add ``.where`` to narrow)."""
    return select(func.count()).select_from(events).where(events.c.type != CHECKPOINT_EVENT)
