"""Public events of the ledger import (``services/imports``): who brought which file into
the ledger, what its dry run found, how each probable duplicate was decided, and what the
commit registered. The registrations and merges themselves are the registry's events; the
stream id is the import id."""
from marshmallow import Schema, fields, validate

from contracts.fields import DivisionCode
from kernel.catalogue import EventCatalogue

DECISIONS = ("merge", "keep_both")


class ImportEventSchema(Schema):
    import_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class ColumnUsedSchema(Schema):
    column = fields.String(required=True)
    header = fields.String(required=True, metadata={"description": "the file's own header for it"})


class ImportOpenedSchema(ImportEventSchema):
    filename = fields.String(required=True)
    file_sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    jurisdiction = DivisionCode(required=True)
    columns = fields.List(fields.Nested(ColumnUsedSchema), required=True)


class ImportCheckedSchema(ImportEventSchema):
    rows = fields.Integer(strict=True, required=True)
    accepted = fields.Integer(strict=True, required=True)
    refused = fields.Integer(strict=True, required=True)
    existing = fields.Integer(strict=True, required=True)
    same_person = fields.Integer(strict=True, required=True)
    probable_duplicates = fields.Integer(strict=True, required=True)


class DuplicateDecidedSchema(ImportEventSchema):
    row = fields.Integer(strict=True, required=True)
    other = fields.String(required=True, metadata={"description": "row:<n> or elder:<elder_id>"})
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))


class CommitRequestedSchema(ImportEventSchema):
    rows = fields.Integer(strict=True, required=True)


class ImportCommittedSchema(ImportEventSchema):
    registered = fields.Integer(strict=True, required=True)
    merged = fields.Integer(strict=True, required=True)


EVENTS = [
    ("imports.import_opened.v1", ImportOpenedSchema, "a ledger file was uploaded for import (its columns found)"),
    ("imports.import_checked.v1", ImportCheckedSchema, "the dry run checked every row with the registry's rules"),
    ("imports.duplicate_decided.v1", DuplicateDecidedSchema, "a person decided a probable duplicate"),
    ("imports.commit_requested.v1", CommitRequestedSchema, "a person asked to register the accepted rows"),
    ("imports.import_committed.v1", ImportCommittedSchema, "every accepted row is registered"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
