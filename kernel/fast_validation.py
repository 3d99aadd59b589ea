"""A fast acceptance check compiled from a marshmallow schema, for the write path.

Every payload the kernel appends is validated against its contract. Marshmallow costs
about 150 µs for a disbursement payload with a nested ``facts`` object: half of a monthly
subsidies run. Almost every payload a service appends is valid (the domain built it), so
the expensive part is confirming what is already right.

``compile_acceptor(schema)`` turns a schema into a function that answers one question:
*does marshmallow certainly accept this payload?* It is deliberately one-sided:

- ``True``: marshmallow would accept the payload, so it is not asked;
- ``False``: "not sure": the caller asks marshmallow, which decides and words the errors.

So the acceptor may be stricter than marshmallow (it accepts only canonical JSON types: an
``int`` for Integer, not ``"5"`` or ``5.0``), never looser. It handles the field types and
validators the contracts use, by exact class; a schema with anything else (a custom field
it does not know, ``@validates`` hooks, ``pre_load``, nested ``only``/``exclude``, a
callable validator) compiles to ``None`` and is always validated by marshmallow.
Field subclasses with extra checks register them with ``register_field_check``.

No library does this job: JSON Schema validators (fastjsonschema) would need the contracts
translated to JSON Schema and would then be a second, looser authority on errors.
``tests/kernel/test_fast_validation.py`` checks the one-sided property on generated payloads
for every contract.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Callable

import marshmallow
from marshmallow import fields, validate

Acceptor = Callable[[Any], bool]
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")

# Custom field class → check of the raw value. Exact classes only.
_FIELD_CHECKS: dict[type, Callable[[Any], bool]] = {}
# Custom fields whose loaded value is the raw value, so that their validators can be run on it.
_LOADS_AS_IS: set[type] = set()


def register_field_check(field_class: type, check: Callable[[Any], bool], loads_as_is: bool = False) -> None:
    """Teach the compiler a custom field: ``check(value)`` must be True only where the
    field's own ``_deserialize`` accepts the raw value (its type included). Its validators
    are checked too if ``loads_as_is`` (it loads a value unchanged); otherwise a field of
    this class with validators leaves its schema to marshmallow."""
    _FIELD_CHECKS[field_class] = check
    if loads_as_is:
        _LOADS_AS_IS.add(field_class)


class Unsupported(Exception):
    """The schema uses something the compiler does not handle: marshmallow decides alone."""


def compile_acceptor(schema: marshmallow.Schema) -> Acceptor | None:
    try:
        return _schema_acceptor(schema)
    except Unsupported:
        return None


def _schema_acceptor(schema: marshmallow.Schema) -> Acceptor:
    hooks = schema._hooks
    if any(hooks.get(tag) for tag in ("pre_load", "validates", "validates_schema")):
        raise Unsupported(f"{type(schema).__name__} has load hooks")
    if schema.unknown != marshmallow.RAISE or schema.opts.dateformat is not None:
        raise Unsupported(f"{type(schema).__name__}: unknown={schema.unknown}")
    checks: list[tuple[str, bool, bool, Acceptor]] = []
    for name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else name
        checks.append((key, bool(field.required), bool(field.allow_none), _field_acceptor(field)))
    allowed = frozenset(key for key, *_ in checks)

    def accept(payload: Any) -> bool:
        if type(payload) is not dict or not allowed.issuperset(payload):
            return False
        for key, required, allow_none, check in checks:
            if key not in payload:
                if required:
                    return False
                continue
            value = payload[key]
            if value is None:
                if not allow_none:
                    return False
            elif not check(value):
                return False
        return True

    return accept


def _field_acceptor(field: fields.Field) -> Acceptor:
    if getattr(field, "pre_load", None) or getattr(field, "post_load", None):
        raise Unsupported(f"field {field.name!r} has field-level load processors")
    kind = type(field)
    if kind in _FIELD_CHECKS:
        base = _FIELD_CHECKS[kind]
    elif kind is fields.String:
        base = _is_str
    elif kind is fields.Integer and not field.as_string:
        base = _is_int
    elif kind is fields.Boolean:
        base = _is_bool
    elif kind is fields.Date and field.format in (None, "iso", "iso8601"):
        base = _is_iso_date
    elif kind is fields.Field:
        base = _anything
    elif kind is fields.Nested:
        base = _nested_acceptor(field)
    elif kind is fields.List:
        inner = _field_acceptor(field.inner)
        inner_allows_none = field.inner.allow_none
        base = lambda value: type(value) is list and all(    # noqa: E731
            (inner_allows_none if item is None else inner(item)) for item in value)
    else:
        raise Unsupported(f"field {field.name!r} of type {kind.__name__}")
    if kind in _FIELD_CHECKS and field.validators and kind not in _LOADS_AS_IS:
        raise Unsupported(f"field {field.name!r}: validators on a {kind.__name__}, which transforms its value")
    parts = [base]
    if kind is not fields.Date:             # validators see the loaded value: a date there
        parts += [_validator_check(v, field) for v in field.validators]
    elif field.validators:
        raise Unsupported(f"field {field.name!r}: validators on a Date")
    return _all_of(parts)


def _all_of(parts: list[Acceptor]) -> Acceptor:
    # Spelled out for the common lengths: a generator per value costs more than the checks.
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda value: first(value) and second(value)
    if len(parts) == 3:
        first, second, third = parts
        return lambda value: first(value) and second(value) and third(value)
    return lambda value: all(part(value) for part in parts)


def _nested_acceptor(field: fields.Nested) -> Acceptor:
    if field.only or field.exclude or field.unknown not in (None, marshmallow.RAISE):
        raise Unsupported(f"nested field {field.name!r} with only/exclude/unknown")
    inner = _schema_acceptor(field.schema)
    if not field.many:
        return inner
    return lambda value: type(value) is list and all(inner(item) for item in value)


def _validator_check(validator, field) -> Acceptor:
    kind = type(validator)
    if kind is validate.Length:
        low, high, equal = validator.min, validator.max, validator.equal
        if equal is not None:
            return lambda value: len(value) == equal
        return lambda value: (low is None or len(value) >= low) and (high is None or len(value) <= high)
    if kind is validate.Range:
        low, high = validator.min, validator.max
        low_ok = (lambda v: v >= low) if validator.min_inclusive else (lambda v: v > low)
        high_ok = (lambda v: v <= high) if validator.max_inclusive else (lambda v: v < high)
        return lambda value: (low is None or low_ok(value)) and (high is None or high_ok(value))
    if kind is validate.OneOf:
        choices = validator.choices
        try:
            lookup = frozenset(choices)
        except TypeError:
            return lambda value: value in choices
        return lambda value: value in lookup
    if kind is validate.Regexp:
        match = validator.regex.match        # marshmallow matches at the start, like this
        return lambda value: match(value) is not None
    raise Unsupported(f"field {field.name!r}: validator {kind.__name__}")


def _is_str(value) -> bool:
    return type(value) is str


def _is_int(value) -> bool:
    return type(value) is int


def _is_bool(value) -> bool:
    return type(value) is bool


def _anything(value) -> bool:
    return True


def _is_iso_date(value) -> bool:
    if type(value) is not str or not ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
