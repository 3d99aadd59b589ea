"""Projections of the subsidies log, updated in the append's transaction: ``runs`` (one row
per jurisdiction × month: status and totals) and ``ledger`` (one row per disbursement or
adjustment, the payment file's source)."""
from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from kernel.db import insert_many
from kernel.envelope import Envelope, format_time
from services.subsidies.adapters.tables import ledger, runs

ENTRY_TYPES = {"subsidies.disbursement_computed.v1": "disbursement", "subsidies.adjustment_computed.v1": "adjustment"}
RUN_TYPES = ("subsidies.run_started.v1", "subsidies.run_completed.v1", "subsidies.run_approved.v1",
             "subsidies.run_paid.v1", "subsidies.month_closed.v1")


class RunsProjection:
    name = "runs"
    handles = frozenset(RUN_TYPES)

    def tables(self):
        return (runs,)

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        data, run_id = envelope.data, envelope.subject
        exists = conn.execute(select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is not None
        if not exists:
            conn.execute(insert(runs), {"run_id": run_id, "jurisdiction": data["jurisdiction"], "month": data["month"],
                                        "status": "none", "closed": False})
        changes = {
            "subsidies.run_started.v1": lambda: {"status": "started", "rulebook_hash": data["rulebook_hash"],
                                                 "started_at": format_time(envelope.recorded_time)},
            "subsidies.run_completed.v1": lambda: {"status": "completed", **{k: data[k] for k in (
                "beneficiaries", "disbursements", "disbursed_fen", "adjustments", "adjusted_fen")}},
            "subsidies.run_approved.v1": lambda: {"status": "approved", "approved_by": envelope.actor.user},
            "subsidies.run_paid.v1": lambda: {"status": "paid", "paid_on": data["paid_on"],
                                              "payment_reference": data["payment_reference"]},
            "subsidies.month_closed.v1": lambda: {"closed": True},
        }[envelope.type]()
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(**changes))


class LedgerProjection:
    name = "ledger"
    handles = frozenset(ENTRY_TYPES)

    def tables(self):
        return (ledger,)

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        self.apply_many(conn, [envelope])

    def apply_many(self, conn: Connection, envelopes) -> None:
        insert_many(conn, ledger, [self._row(e) for e in envelopes])

    @staticmethod
    def _row(envelope: Envelope) -> dict:
        data = envelope.data
        return {"entry_id": envelope.id, "run_id": data["run_id"], "kind": ENTRY_TYPES[envelope.type],
                "beneficiary_id": data["beneficiary_id"], "beneficiary_kind": data["beneficiary_kind"],
                "programme": data["programme"], "period": data["period"], "reference": data.get("reference") or "",
                "amount_fen": data["amount_fen"], "division_code": data["division_code"],
                "rule_version": data.get("rule_version"), "rule_hash": data.get("rule_hash"),
                "corrects": " ".join(data.get("corrects") or ()), "recorded_at": format_time(envelope.recorded_time)}
