"""marshmallow at the edges: load a payload or refuse it with the kernel's ValidationError,
one entry per bad field (nested fields joined with dots, e.g. ``supporters.0.left_on``)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
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
