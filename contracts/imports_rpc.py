"""The ledger import's RPC surface (services/imports): what each method takes and answers."""
from __future__ import annotations

import base64
import binascii

from marshmallow import Schema, ValidationError, fields, validate

from contracts.fields import DivisionCode, PageOffset
from contracts.imports import DECISIONS

MAX_FILE_BYTES = 64 * 1024 * 1024


class Base64File(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            content = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("must be the file's bytes in base64") from None
        if not content:
            raise ValidationError("the file is empty (文件为空)")
        if len(content) > MAX_FILE_BYTES:
            raise ValidationError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MB")
        return content


class OpenImportSchema(Schema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_base64 = Base64File(required=True)
    jurisdiction = DivisionCode(required=True, metadata={
        "description": "the county (or township) whose ledger this is; every village must lie in it"})
    mapping = fields.Dict(keys=fields.String(), values=fields.String(), load_default=None, allow_none=True,
                          metadata={"description": "column key or standard header → the file's own header"})


class ImportIdSchema(Schema):
    import_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class DecideDuplicateSchema(ImportIdSchema):
    row = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    other = fields.String(required=True, validate=validate.Regexp(r"^(row:\d+|elder:.{1,64})$"))
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))


class RowsQuerySchema(ImportIdSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = PageOffset()


class ImportView(Schema):
    import_id = fields.String()
    filename = fields.String()
    file_sha256 = fields.String()
    jurisdiction = fields.String()
    status = fields.String(metadata={"description": "reading, checking, checked, committing, committed; failed "
                                                    "(the file could not be read: see problem)"})
    problem = fields.String(allow_none=True)
    mapping = fields.Dict(keys=fields.String(), values=fields.String())
    opened_at = fields.String()
    summary = fields.Dict(keys=fields.String(), values=fields.Integer())


class FileView(Schema):
    filename = fields.String()
    content_base64 = fields.String()


class ProblemView(Schema):
    column = fields.String(metadata={"description": "the column's Chinese header, as in the file"})
    field = fields.String(metadata={"description": "the registry's field (or the column) at fault"})
    reason = fields.String(metadata={"description": "why, in Chinese"})
    reason_en = fields.String(metadata={"description": "the registry's own words, when it gave them"})


class RefusedRowView(Schema):
    row = fields.Integer(metadata={"description": "the row number as the spreadsheet shows it (header is row 1)"})
    problems = fields.List(fields.Nested(ProblemView))


class DuplicateView(Schema):
    row = fields.Integer()
    other = fields.String(metadata={"description": "row:<n> (a row of the same file) or elder:<elder_id>"})
    reason = fields.String(metadata={"description": "name_birth_date_township, household_name or "
                                                    "resident_id_one_character_off"})
    decision = fields.String(allow_none=True, metadata={"description": "merge, keep_both; null: undecided"})
    merged = fields.Boolean()


class RowsPageSchema(Schema):
    """A page of an import's rows (the import is in the path)."""

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = PageOffset()
