"""The catalogue of event types: type string (with schema version) → marshmallow schema.

Payloads are validated against their schema when written and when read; an unknown type
or version is a clear error, never a silently passed-through dict. Services declare their
public events once in ``contracts`` and consumers import the catalogue from there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import marshmallow

from kernel.errors import EventSchemaError, UnknownEventTypeError
from kernel.fast_validation import Acceptor, compile_acceptor
from kernel.validation import flatten_messages

EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v[1-9][0-9]*$")


@dataclass(frozen=True)
class EventContract:
    type: str
    schema: marshmallow.Schema
    description: str
    example: dict | None = None
    # Compiled from the schema: True where marshmallow certainly accepts a payload, so the
    # write path asks marshmallow only about the rest (kernel.fast_validation).
    acceptor: Acceptor | None = None
    # Where its personal values are (``kernel.personal``), and the payload field naming whose
    # key seals them (None: the payload's ``elder_id``, else the stream).
    personal_paths: tuple = ()
    personal_subject: str | None = None
    personal_tree: dict | None = None

    def certainly_valid(self, data: dict) -> bool:
        if self.acceptor is None:
            return False
        try:
            return self.acceptor(data)
        except Exception:          # e.g. a validator comparing unlike types: let marshmallow say
            return False

    @property
    def source(self) -> str:
        return self.type.split(".", 1)[0]


class EventCatalogue:
    def __init__(self) -> None:
        self._contracts: dict[str, EventContract] = {}

    def register(self, type_: str, schema: type[marshmallow.Schema], description: str,
                 example: dict | None = None) -> None:
        if not EVENT_TYPE_PATTERN.match(type_):
            raise ValueError(f"event type {type_!r} must look like 'service.name.v1'")
        if type_ in self._contracts:
            raise ValueError(f"event type {type_!r} is already registered")
        instance = schema()
        from kernel.personal import compile_tree, personal_paths_of, remember_tree
        paths = personal_paths_of(instance)
        self._contracts[type_] = EventContract(type_, instance, description, example, compile_acceptor(instance),
                                               paths, getattr(schema, "personal_subject", None), compile_tree(paths))
        remember_tree(type_, compile_tree(paths))

    def merge(self, other: "EventCatalogue") -> "EventCatalogue":
        for contract in other:
            if contract.type not in self._contracts:
                self._contracts[contract.type] = contract
        return self

    def __iter__(self):
        return iter(self._contracts.values())

    def __contains__(self, type_: str) -> bool:
        return type_ in self._contracts

    def types(self, source: str | None = None) -> list[str]:
        return sorted(t for t, c in self._contracts.items() if source in (None, c.source))

    def contract(self, type_: str) -> EventContract:
        try:
            return self._contracts[type_]
        except KeyError:
            known = ", ".join(sorted(t for t in self._contracts if t.rsplit(".", 1)[0] == type_.rsplit(".", 1)[0]))
            hint = f" (known versions: {known})" if known else ""
            raise UnknownEventTypeError(f"unknown event type {type_!r}{hint}", field="type") from None

    def serialize(self, type_: str, payload: Any) -> dict:
        """Domain object or dict → JSON-ready dict. Not validated here: the store validates
        every payload it appends (once), so serialising and validating again would double
        the cost of the write path."""
        contract = self.contract(type_)
        try:
            return contract.schema.dump(payload)
        except (AttributeError, TypeError, ValueError) as exc:
            raise EventSchemaError({"data": [f"{type_}: cannot serialise payload: {exc}"]}) from exc

    def deserialize(self, type_: str, data: dict) -> dict:
        """Stored/wire dict → typed dict (dates as ``date``), validated (read path)."""
        contract = self.contract(type_)
        try:
            return contract.schema.load(data)
        except marshmallow.ValidationError as exc:
            erased = _erased_places(contract, data)
            if not erased:
                raise EventSchemaError(_prefixed(type_, exc.normalized_messages())) from exc
        # An erased person's values read ERASED, which their field's rules may refuse (a
        # resident ID is 18 characters): the rest is loaded, those keep the marker.
        try:
            loaded = contract.schema.load(_without(data, erased), partial=True)
        except marshmallow.ValidationError as exc:
            raise EventSchemaError(_prefixed(type_, exc.normalized_messages())) from exc
        return _with_erased(loaded, erased)

    def validate(self, type_: str, data: dict) -> None:
        self._check(self.contract(type_), data)

    def validate_many(self, typed_payloads: list[tuple[str, dict]]) -> None:
        """Validate several payloads. Those the compiled acceptor does not vouch for go to
        marshmallow, one call per type (cheaper per payload than one call each). Errors
        name the payload's index in the list."""
        by_type: dict[str, list[int]] = {}
        for index, (type_, _data) in enumerate(typed_payloads):
            by_type.setdefault(type_, []).append(index)
        for type_, indexes in by_type.items():
            contract = self.contract(type_)
            doubtful = [i for i in indexes if not contract.certainly_valid(typed_payloads[i][1])]
            if not doubtful:
                continue
            errors = contract.schema.validate([typed_payloads[i][1] for i in doubtful], many=True)
            if errors:
                position, problems = next(iter(errors.items()))
                raise EventSchemaError(flatten_messages(problems, f"events[{doubtful[position]}].data({type_})."))

    @staticmethod
    def _check(contract: EventContract, data: dict) -> None:
        if contract.certainly_valid(data):
            return
        errors = contract.schema.validate(data)
        if errors:
            erased = _erased_places(contract, data)
            if erased:
                errors = contract.schema.validate(_without(data, erased), partial=True)
        if errors:
            raise EventSchemaError(_prefixed(contract.type, errors))


def _erased_places(contract: EventContract, data) -> list[tuple]:
    from kernel.personal import erased_paths
    return erased_paths(data, contract.personal_paths) if contract.personal_paths else []


def _without(data, places: list[tuple]):
    """A copy of ``data`` without the keys at ``places`` (list indexes kept)."""
    import copy
    result = copy.deepcopy(data)
    for place in places:
        holder = result
        for step in place[:-1]:
            holder = holder[step]
        holder.pop(place[-1], None)
    return result


def _with_erased(loaded, places: list[tuple]):
    from kernel.personal import ERASED
    for place in places:
        holder = loaded
        try:
            for step in place[:-1]:
                holder = holder[step]
            holder[place[-1]] = ERASED
        except (KeyError, IndexError, TypeError):
            continue
    return loaded


def _prefixed(type_: str, errors: dict) -> dict[str, list[str]]:
    return flatten_messages(errors, f"data({type_}).")
