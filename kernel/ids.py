"""Identifiers. Event ids are UUIDv7: unique and ordered by creation time."""
from uuid6 import uuid7


def new_event_id() -> str:
    return str(uuid7())


def new_stream_id() -> str:
    return str(uuid7())
