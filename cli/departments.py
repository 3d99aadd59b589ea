"""``eldercare departments …``: what the departments recorded, read through the departments
service over RPC — a division's figures (65+ checked this year, open cases, pensions…), its
cases, one elder's records. The records themselves are written by each department's people
through the API (``/api/elders/<id>/health-checks``, ``/api/cases`` …), signed in as
themselves. The exception is finance's files, which an operator moves between the system
and the bank: ``payment-file`` writes a run's bank file, ``bank-return`` reads the bank's
answer (both as the finance officer named by ``--user``)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from nameko.standalone.rpc import ClusterRpcProxy
from rich.console import Console
from rich.table import Table

from contracts.departments_rpc import SUMMARY_FIGURES
from kernel.config import amqp_uri, load_config
from kernel.errors import EldercareError

departments_app = typer.Typer(no_args_is_help=True, help="The departments' own records (health, pensions, "
                                                         "poverty registration, cases, cultural services).")
STATE = {"config_path": None}
CONSOLE = Console(stderr=True, soft_wrap=True)


def _rpc():
    config = load_config(STATE["config_path"])
    return ClusterRpcProxy({"AMQP_URI": amqp_uri(config), "serializer": "json"}, timeout=60)


def _out() -> Console:
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240)


def _fail(error: EldercareError):
    CONSOLE.print(f"[bold red]error:[/] {error.message}")
    for field, messages in (getattr(error, "errors", None) or {}).items():
        for message in messages:
            CONSOLE.print(f"  [red]{field}[/]: {message}")
    raise typer.Exit(1)


def _table(rows: list[dict], columns: tuple[str, ...], title: str) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if row.get(c) is None else str(row[c]) for c in columns])
    _out().print(table)


@departments_app.command("summary")
def summary(division_code: str, year: Optional[int] = typer.Option(None, help="default: this year")):
    """Each department's figures for a division and everything under it."""
    try:
        with _rpc() as rpc:
            figures = rpc.departments.division_summary({"division_code": division_code, "year": year})
    except EldercareError as error:
        _fail(error)
    _table([{"figure": name, "value": figures[name]} for name in SUMMARY_FIGURES], ("figure", "value"),
           f"{division_code} · {figures['year']}")


@departments_app.command("cases")
def cases(division_code: Optional[str] = typer.Option(None, "--division"),
          status: str = typer.Option("open", help="open, closed or any")):
    """Cases (without their details) in a division."""
    try:
        with _rpc() as rpc:
            found = rpc.departments.list_cases({"division_code": division_code, "status": status, "limit": 1000})
    except EldercareError as error:
        _fail(error)
    _table(found, ("case_id", "elder_id", "division_code", "department", "kind", "status", "opened_on", "outcome",
                   "referral_id", "legal_aid"), f"cases ({status})")


@departments_app.command("records")
def records(elder_id: str):
    """One elder's records, one per department area (personal: for whoever administers the system)."""
    try:
        with _rpc() as rpc:
            found = rpc.departments.elder_records(elder_id)
    except EldercareError as error:
        _fail(error)
    _table(found, ("record_id", "department", "status", "opened_on", "closed_on", "updated_on", "monthly_amount_fen"),
           elder_id)


def _finance(user: str) -> dict:
    return {"department": "finance", "user": user, "role": "department_officer"}


@departments_app.command("payment-file")
def payment_file(jurisdiction: str = typer.Option(..., help="the run's division prefix, e.g. 1405"),
                 month: str = typer.Option(..., help="YYYY-MM"), out: Path = typer.Option(..., help="CSV to write"),
                 user: str = typer.Option(..., help="the finance officer issuing it")):
    """Write the bank payment file of an approved subsidy run (what became payable since the last)."""
    try:
        with _rpc() as rpc:
            answer = rpc.departments.issue_payment_file({"jurisdiction": jurisdiction, "month": month}, _finance(user))
    except EldercareError as error:
        _fail(error)
    out.write_text(answer["csv"], encoding="utf-8")
    CONSOLE.print(f"[bold]{answer['file_id'] or 'nothing new to pay'}[/]: {answer['rows']} payments, "
                  f"{answer['total_fen'] // 100}.{answer['total_fen'] % 100:02d} yuan → {out}; held {len(answer['held'])}")
    for held in answer["held"]:
        CONSOLE.print(f"  held {held['entry_id']} ({held['beneficiary_id']}): {held['reason']}")


@departments_app.command("bank-return")
def bank_return(file_id: str, returned: Path = typer.Argument(..., help="the bank's CSV: entry_id,result,reason"),
                user: str = typer.Option(..., help="the finance officer reading it")):
    """Read the bank's return file: each payment paid or failed (re-issued next, or alerted)."""
    try:
        with _rpc() as rpc:
            answer = rpc.departments.read_bank_return({"file_id": file_id, "csv": returned.read_text(encoding="utf-8")},
                                                      _finance(user))
    except EldercareError as error:
        _fail(error)
    CONSOLE.print(f"{file_id}: paid {answer['paid']}, failed {answer['failed']} (re-issued next: {answer['reissue']}, "
                  f"alerted: {answer['alerted']})")
