"""The audit event every service publishes about its own log: a signed checkpoint (tree
size, RFC 9162 Merkle root, time, key id, Ed25519 signature). See ``kernel.checkpoints``."""
from marshmallow import Schema, fields, validate

from kernel.catalogue import EventCatalogue


class CheckpointSealedSchema(Schema):
    source = fields.String(required=True, validate=validate.Length(min=1, max=64))
    tree_size = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    root_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    sealed_at = fields.String(required=True)
    key_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{16}$"))
    signature = fields.String(required=True)


EVENTS = [
    ("audit.checkpoint_sealed.v1", CheckpointSealedSchema,
     "a service sealed events 1..tree_size of its log (Merkle root, signed)"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result

