"""Commands applied at most once, by the id the caller gave them.

nameko delivers an RPC request at least once: when the broker node a service is connected to
dies while the service is finishing a command, the request is delivered again (to another
replica, or to the same one after it reconnects). A registration refuses itself the second
time, but ``assess_self_care`` or ``report_alert`` would be recorded twice. So a caller that
wants exactly-once effects sends a command id in the call's context data (``command_id``;
the gateway sends one with every write): the first transaction of the command that appends
events also records the id, and a later delivery of the same id gets the first answer back
instead of acting again.

The id is bound to what was asked (method and arguments, hashed): the same id with another
request is a conflict, not a replay. A command that spans several transactions and is
idempotent by its own design (a subsidy run resumes where it stopped) is declared so
(``command_rpc(idempotent=True)``) and keeps no id.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from kernel.db import transaction
from kernel.envelope import canonical_json, format_time, sha256_hex
from kernel.errors import CommandIdReused, ConflictError, ValidationError
from kernel.schema import COMMAND_ID_LENGTH, applied_commands

log = structlog.get_logger(__name__)

CONTEXT_KEY = "command_id"          # the key in nameko's call context data (an AMQP header)
NOT_APPLIED = object()


@dataclass
class CommandKey:
    """One delivery of a command: its id, what it asks, and whether this delivery recorded it."""

    command_id: str
    method: str
    fingerprint: str
    recorded: bool = False

    def check(self) -> None:
        """Refuse a malformed id (when the command runs, not while nameko sets up the worker)."""
        if not isinstance(self.command_id, str) or not 1 <= len(self.command_id) <= COMMAND_ID_LENGTH:
            raise ValidationError({CONTEXT_KEY: [f"must be a string of 1 to {COMMAND_ID_LENGTH} characters"]})


def command_key_of(worker_ctx) -> CommandKey | None:
    """The command id the caller sent with this call, bound to the method and arguments."""
    command_id = (worker_ctx.data or {}).get(CONTEXT_KEY)
    if command_id is None:
        return None
    method = worker_ctx.entrypoint.method_name
    asked = canonical_json({"method": method, "args": list(worker_ctx.args), "kwargs": worker_ctx.kwargs})
    return CommandKey(command_id, method, sha256_hex(asked))


def earlier_answer(engine: Engine, key: CommandKey) -> Any:
    """The answer this command got when it was applied, or ``NOT_APPLIED``."""
    with engine.connect() as conn:
        row = conn.execute(select(applied_commands).where(applied_commands.c.command_id == key.command_id)).first()
    if row is None:
        return NOT_APPLIED
    if row.fingerprint != key.fingerprint:
        raise CommandIdReused(f"this command id was already used for another request ({row.method} at "
                            f"{row.applied_at}); use a new id for a new request", field=CONTEXT_KEY)
    if row.answer is None:
        # Applied, but the process ended between the commit and keeping the answer.
        raise ConflictError(f"this command was applied at {row.applied_at}, but its answer was not kept; "
                            f"read the current state instead of repeating it", field=CONTEXT_KEY)
    log.info("command delivered again; answering as the first time, applying nothing",
             command_id=key.command_id, method=key.method, applied_at=row.applied_at)
    return json.loads(row.answer)


def record(conn: Connection, key: CommandKey, now) -> None:
    """In the transaction that appends the command's events: the id is taken, or it all rolls back."""
    try:
        conn.execute(insert(applied_commands).values(command_id=key.command_id, method=key.method,
                                                     fingerprint=key.fingerprint, applied_at=format_time(now)))
    except IntegrityError:      # the whole transaction rolls back with the error
        raise ConflictError("this command is being applied by another delivery of it; read the current "
                            "state", field=CONTEXT_KEY) from None


def keep_answer(engine: Engine, key: CommandKey, answer: Any) -> None:
    """After the command returned: its answer, for a later delivery of the same id."""
    with transaction(engine) as conn:
        conn.execute(update(applied_commands).where(applied_commands.c.command_id == key.command_id)
                     .values(answer=json.dumps(answer, ensure_ascii=False, default=str)))
