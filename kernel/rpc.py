"""Errors across nameko RPC: a service raises an ``EldercareError``; the caller gets the
same class back with its code, message, field and field errors — not a ``RemoteError``
holding a string. nameko serialises ``exc.args``; we make those the error's ``to_dict()``."""
from __future__ import annotations

import functools

from nameko import exceptions as nameko_exceptions
from nameko.rpc import rpc

from kernel import commands, errors


def _all_error_classes(base=errors.EldercareError):
    yield base
    for subclass in base.__subclasses__():
        yield from _all_error_classes(subclass)


def register_remote_errors() -> None:
    """Let nameko's RPC client rebuild every ``EldercareError`` subclass (idempotent)."""
    for error_class in _all_error_classes():
        key = nameko_exceptions.get_module_path(error_class)
        nameko_exceptions.registry[key] = lambda data, _cls=error_class: (
            _cls.from_dict(data) if isinstance(data, dict) else _cls(str(data)))


def command_rpc(method=None, *, idempotent: bool = False):
    """``@rpc`` whose ``EldercareError``s travel with their details (args = ``to_dict()``),
    and which applies a command at most once per command id (``kernel.commands``): a second
    delivery of the same id gets the first answer. ``idempotent=True``: the command is safe
    to run again by its own design (it resumes or does nothing) and may span transactions;
    it keeps no id."""
    if method is None:
        return functools.partial(command_rpc, idempotent=idempotent)

    @functools.wraps(method)
    def wrapper(service, *args, **kwargs):
        try:
            database = getattr(service, "db", None)     # every service's kernel database is its `db`
            command = getattr(database, "command", None)
            if command is not None and idempotent:
                database.command = command = None
            if command is not None:
                command.check()
                earlier = commands.earlier_answer(database.engine, command)
                if earlier is not commands.NOT_APPLIED:
                    return earlier
            answer = method(service, *args, **kwargs)
            if command is not None and command.recorded:
                commands.keep_answer(database.engine, command, answer)
            return answer
        except errors.EldercareError as error:
            error.args = (error.to_dict(),)
            raise
    # Marked expected: nameko logs them as "(expected) error" and kernel.logging drops the
    # traceback — a refused command is an answer, not a fault.
    return rpc(expected_exceptions=errors.EldercareError)(wrapper)


register_remote_errors()
