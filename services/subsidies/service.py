"""The subsidies service: entitlements by policy from registry and facilities facts, monthly
disbursement runs per jurisdiction with retroactive adjustments, approval by finance,
payment files and finance summaries, over nameko RPC.

Every command takes ``payload`` (validated by its schema) and ``actor``; a refused command
raises a clear error naming the field and writes nothing. Registry and facilities events
arrive through RabbitMQ and are kept as each elder's fact history (effective date and the
instant learnt), so "what was due for month M as known on date X" can be answered.
"""
from __future__ import annotations

import structlog
from sqlalchemy import select

from contracts import CATALOGUE
from contracts.actors import ActorSchema
from contracts.services import SEALING_SERVICES, SUBSIDIES
from kernel.consumer import durable_event_handler
from kernel.envelope import CommandMeta
from kernel.errors import NotFoundError
from kernel.providers import CallContext, CheckpointSealer, LoggingContext, OutboxRelayRunner, ServiceDatabase, ping_answer
from kernel.rpc import command_rpc
from kernel.trace import events_about
from kernel.witness import checkpoint_witness
from kernel.uow import retry_on_concurrency
from kernel.validation import load_or_refuse, refuse_future_known_at
from services.subsidies.adapters.payment_file import division_summary, payment_file_csv, yuan
from services.subsidies.adapters.tables import facility_grants, ledger, runs
from services.subsidies.domain import ApproveRun, CloseMonth, MarkPaid, run_id_for
from services.subsidies.handlers import (closed_by, entitlement_as_of, normalise_jurisdiction, observe_event,
                                         run_lifecycle_command, start_run)
from services.subsidies.rules import SubsidiesRules, subsidies_projections
from contracts.subsidies_rpc import (ApproveRunSchema, EntitlementQuerySchema, ListRunsSchema, MarkPaidSchema,
                                        RunKeySchema)

log = structlog.get_logger(__name__)
ACTOR_SCHEMA = ActorSchema()


def _run_row(conn, run_id: str) -> dict:
    row = conn.execute(select(runs).where(runs.c.run_id == run_id)).first()
    if row is None or row.status == "none":
        raise NotFoundError(f"no run {run_id!r}", field="month")
    return dict(row._mapping)


class SubsidiesService(checkpoint_witness(SEALING_SERVICES, own="subsidies")):
    name = "subsidies"

    db = ServiceDatabase(CATALOGUE, projections=subsidies_projections)
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()
    rules = SubsidiesRules()
    call = CallContext()
    log = LoggingContext()

    def _meta(self, actor) -> CommandMeta:
        return CommandMeta(load_or_refuse(ACTOR_SCHEMA, actor), **self.call)

    def _lifecycle(self, schema, payload, actor, build) -> dict:
        values, meta = load_or_refuse(schema, payload), self._meta(actor)
        jurisdiction, month = normalise_jurisdiction(values["jurisdiction"]), values["month"]

        def run():
            with self.db.unit_of_work() as uow:
                return run_lifecycle_command(uow, self.rules, jurisdiction, month, build(values, meta), meta)
        state, events = retry_on_concurrency(run)
        log.info("run command", run_id=state.run_id, status=state.status, closed=state.closed,
                 events=[e.TYPE for e in events], user=meta.actor.user)
        return {"run_id": state.run_id, "status": state.status, "closed": state.closed, "changed": bool(events)}

    @command_rpc
    def elder_events(self, elder_id):
        """Every event of this service's log about the elder (disbursements, adjustments), for
        the gateway's cross-agency timeline."""
        return events_about(self.db.engine, elder_id)

    # -- runs -----------------------------------------------------------------------------
    @command_rpc(idempotent=True)      # spans transactions; running it again resumes or does nothing
    def start_run(self, payload, actor):
        """Compute the run of ``jurisdiction`` × ``month`` (``YYYY-MM``): one disbursement per
        beneficiary × programme, adjustments of earlier months. Starting it again changes
        nothing (``changed: false``); an interrupted run resumes."""
        values, meta = load_or_refuse(RunKeySchema(), payload), self._meta(actor)
        return start_run(self.db.unit_of_work, self.rules, values["jurisdiction"], values["month"],
                         self.db.clock.today(), meta)

    @command_rpc
    def approve_run(self, payload, actor):
        """Finance approves a completed run for payment (any other department is refused)."""
        return self._lifecycle(ApproveRunSchema(), payload, actor, lambda v, meta: ApproveRun(
            meta.actor.department, self.db.clock.today(), v["note"]))

    @command_rpc
    def mark_paid(self, payload, actor):
        return self._lifecycle(MarkPaidSchema(), payload, actor, lambda v, meta: MarkPaid(
            self.db.clock.today(), v["paid_on"], v["payment_reference"]))

    @command_rpc
    def close_month(self, payload, actor):
        """No further run for this jurisdiction and month (its run, if any, must be paid)."""
        return self._lifecycle(RunKeySchema(), payload, actor, lambda v, meta: CloseMonth(self.db.clock.today()))

    @command_rpc
    def list_runs(self, filters=None):
        query = load_or_refuse(ListRunsSchema(), filters or {})
        statement = select(runs).order_by(runs.c.month.desc(), runs.c.jurisdiction).limit(query["limit"])
        if query["jurisdiction"]:
            statement = statement.where(runs.c.jurisdiction == normalise_jurisdiction(query["jurisdiction"]))
        if query["month"]:
            statement = statement.where(runs.c.month == query["month"])
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]

    @command_rpc
    def get_run(self, payload):
        values = load_or_refuse(RunKeySchema(), payload)
        jurisdiction = normalise_jurisdiction(values["jurisdiction"])
        with self.db.connect() as conn:
            row = _run_row(conn, run_id_for(jurisdiction, values["month"]))
            row["closed_by"] = closed_by(conn, jurisdiction, values["month"])
        return row

    @command_rpc
    def payment_file(self, payload):
        """The run's CSV: entry, beneficiary, account (placeholder), amount in yuan with two
        decimals, programme, month, division, rule hash, entries corrected."""
        values = load_or_refuse(RunKeySchema(), payload)
        run_id = run_id_for(normalise_jurisdiction(values["jurisdiction"]), values["month"])
        with self.db.connect() as conn:
            _run_row(conn, run_id)
            text, rows, total = payment_file_csv(conn, run_id)
        return {"run_id": run_id, "csv": text, "rows": rows, "total_fen": total, "total_yuan": yuan(total)}

    @command_rpc
    def division_summary(self, payload):
        """Per-division totals of a run (next level down), by programme, for finance."""
        values = load_or_refuse(RunKeySchema(), payload)
        jurisdiction = normalise_jurisdiction(values["jurisdiction"])
        run_id = run_id_for(jurisdiction, values["month"])
        with self.db.connect() as conn:
            run = _run_row(conn, run_id)
            return {"run_id": run_id, "status": run["status"],
                    "divisions": division_summary(conn, run_id, jurisdiction)}

    @command_rpc
    def unpaid_grants(self, jurisdiction):
        """Facility grants (star awards, operating subsidies) learnt from facilities and not
        paid by any run yet, in a jurisdiction."""
        prefix = normalise_jurisdiction(jurisdiction)
        paid = select(ledger.c.reference).where(ledger.c.reference == facility_grants.c.grant_id).exists()
        statement = (select(facility_grants).where(
            facility_grants.c.division_code.between(prefix.ljust(12, "0"), prefix.ljust(12, "9")), ~paid)
            .order_by(facility_grants.c.effective_date, facility_grants.c.grant_id))
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]

    # -- entitlements ---------------------------------------------------------------------
    @command_rpc
    def entitlement_as_of(self, elder_id, month, known_at=None):
        """What was due to ``elder_id`` for ``month`` and why (rule version, hash, facts), as
        the facts were known at ``known_at`` (UTC ISO; default now), and what was recorded."""
        query = load_or_refuse(EntitlementQuerySchema(),
                               {"elder_id": elder_id, "month": month, "known_at": known_at})
        refuse_future_known_at(query["known_at"], self.db.clock.now())
        return entitlement_as_of(self.db.connect, self.rules, query["elder_id"], query["month"], query["known_at"])

    # -- consumed facts -------------------------------------------------------------------
    @durable_event_handler(*SUBSIDIES.consumer("on_registry_event").arguments)
    def on_registry_event(self, event, uow):
        elder_id = observe_event(uow, event)
        log.debug("fact recorded", elder_id=elder_id, cause=event.type, event_id=event.id)

    @durable_event_handler(*SUBSIDIES.consumer("on_facility_event").arguments)
    def on_facility_event(self, event, uow):
        elder_id = observe_event(uow, event)
        log.debug("facility fact recorded", elder_id=elder_id, cause=event.type, event_id=event.id,
                  facility_id=event.data.get("facility_id"))

    @durable_event_handler(*SUBSIDIES.consumer("on_orders_event").arguments)
    def on_orders_event(self, event, uow):
        """A meal delivered to an elder at home: the month's count, for a per-meal rule."""
        elder_id = observe_event(uow, event)
        log.debug("meal recorded", elder_id=elder_id, month=event.data["month"], event_id=event.id)

    @command_rpc
    def ping(self):
        return ping_answer(self.name, self.db)
