"""The payment file of a run (CSV for the paying bank) and the per-division summary for
finance, both read from the ledger projection."""
from __future__ import annotations

import csv
import io

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from kernel.divisions import CHILD_PREFIX_LENGTH
from services.subsidies.adapters.tables import ledger

PAYMENT_FILE_COLUMNS = ("entry_id", "kind", "beneficiary_id", "beneficiary_kind", "account", "amount_yuan",
                        "programme", "month", "division_code", "rule_hash", "corrects")
# The bank account is personal data held outside this service; finance fills it in from
# the beneficiary id when the file goes to the bank.
ACCOUNT_PLACEHOLDER = ""


def yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals, without ever passing through a float."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def payment_file_csv(conn: Connection, run_id: str) -> tuple[str, int, int]:
    """(CSV text, rows, total fen) of every disbursement and adjustment of the run."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAYMENT_FILE_COLUMNS)
    rows = total = 0
    for row in conn.execute(select(ledger).where(ledger.c.run_id == run_id)
                            .order_by(ledger.c.division_code, ledger.c.beneficiary_id, ledger.c.programme,
                                      ledger.c.period, ledger.c.recorded_at)):
        writer.writerow((row.entry_id, row.kind, row.beneficiary_id, row.beneficiary_kind, ACCOUNT_PLACEHOLDER,
                         yuan(row.amount_fen), row.programme, row.period, row.division_code, row.rule_hash or "",
                         row.corrects))
        rows += 1
        total += row.amount_fen
    return out.getvalue(), rows, total


def division_summary(conn: Connection, run_id: str, jurisdiction: str) -> list[dict]:
    """Totals of the run by the next division level down, and by programme within each."""
    length = CHILD_PREFIX_LENGTH[len(jurisdiction)]
    child = func.substr(ledger.c.division_code, 1, length)
    statement = (select(child.label("prefix"), ledger.c.programme, ledger.c.kind, func.count().label("entries"),
                        func.count(func.distinct(ledger.c.beneficiary_id)).label("beneficiaries"),
                        func.sum(ledger.c.amount_fen).label("fen"))
                 .where(ledger.c.run_id == run_id).group_by(child, ledger.c.programme, ledger.c.kind)
                 .order_by(child, ledger.c.programme))
    divisions: dict[str, dict] = {}
    for row in conn.execute(statement):
        code = row.prefix.ljust(12, "0")
        summary = divisions.setdefault(code, {"division_code": code, "disbursed_fen": 0, "adjusted_fen": 0,
                                              "total_fen": 0, "by_programme": {}})
        key = "disbursed_fen" if row.kind == "disbursement" else "adjusted_fen"
        summary[key] += int(row.fen)
        summary["total_fen"] += int(row.fen)
        programme = summary["by_programme"].setdefault(row.programme, {"disbursed_fen": 0, "adjusted_fen": 0,
                                                                       "beneficiaries": 0})
        programme[key] += int(row.fen)
        programme["beneficiaries"] = max(programme["beneficiaries"], int(row.beneficiaries))
    for summary in divisions.values():
        summary["total_yuan"] = yuan(summary["total_fen"])
    return list(divisions.values())
