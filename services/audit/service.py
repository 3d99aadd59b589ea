"""The audit witness: holds the signed checkpoints every service publishes about its log, in
a database none of them writes to (each service also holds the others': kernel.witness).
``eldercare audit verify`` checks each live log against every witness's checkpoints."""
from __future__ import annotations

from contracts import CATALOGUE
from contracts.services import SEALING_SERVICES
from kernel.authenticity import rejected_counts
from kernel.providers import LoggingContext, ServiceDatabase
from kernel.rpc import command_rpc
from kernel.witness import checkpoint_witness, held_checkpoints_of


class AuditWitnessService(checkpoint_witness(SEALING_SERVICES)):
    name = "audit"

    db = ServiceDatabase(CATALOGUE)
    log = LoggingContext()

    @command_rpc
    def held(self, source):
        return [c.to_dict() for c in held_checkpoints_of(self.db.engine, source)]

    @command_rpc
    def ping(self):
        return {"service": self.name, "sources": list(SEALING_SERVICES), "events_rejected": rejected_counts()}
