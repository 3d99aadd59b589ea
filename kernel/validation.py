"""marshmallow at the edges: load a payload or refuse it with the kernel's ValidationError,
one entry per bad field (nested fields joined with dots, e.g. ``supporters.0.left_on``)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, post_load
from marshmallow import ValidationError as MarshmallowError

from kernel.errors import ValidationError


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    items = messages.items() if isinstance(messages, dict) else [("_schema", messages)]
    for key, value in items:
        name = f"{prefix}{key}" if key != "_schema" or not prefix else prefix.rstrip(".")
        if isinstance(value, dict):
            flat.update(flatten_messages(value, f"{name}."))
        else:
            flat[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    return flat


def load_or_refuse(schema: Schema, payload: Any) -> Any:
    """The loaded payload, or ``ValidationError`` naming each bad field. Nothing is written."""
    if not isinstance(payload, dict):
        raise ValidationError({"payload": ["must be an object"]})
    try:
        return schema.load(payload)
    except MarshmallowError as error:
        raise ValidationError(flatten_messages(error.normalized_messages())) from None


class BuildsCommand(Schema):
    """Mixed in before a contract's request schema: the loaded payload becomes the domain
    command ``command_class(**to_values(data))``."""

    command_class: type
    to_values: Any = staticmethod(dict)

    @post_load
    def build(self, data, **_kwargs):
        return self.command_class(**self.to_values(data))


def command_schemas(requests: dict[str, type[Schema]], commands, to_values, own: dict[str, Schema] | None = None) -> dict:
    """One schema instance per RPC command: its contract request building the domain command
    of the same name (``RegisterElderRequest`` → ``commands.RegisterElder``), except those in
    ``own``. One instance each: building a schema (and its nested ones) per call costs more
    than loading the payload."""
    def building(request: type[Schema]) -> Schema:
        name = request.__name__.removesuffix("Request")
        return type(f"{name}Schema", (BuildsCommand, request),
                    {"command_class": getattr(commands, name), "to_values": staticmethod(to_values)})()
    own = own or {}
    return {method: own[method] if method in own else building(request) for method, request in requests.items()}


def refuse_future_known_at(known_at, now, field: str = "known_at") -> None:
    """``known_at`` ("as recorded by") may not lie after ``now`` (the clock of the service whose
    log is replayed): an answer as recorded by a time still to come would change as records
    arrive, and the promise is that the same ``known_at`` always gives the same answer."""
    if known_at is not None and known_at > now:
        raise ValidationError({field: [f"{known_at.isoformat()} is later than now ({now.isoformat()}); "
                                       "give a time that has passed, or leave it out for now"]})
