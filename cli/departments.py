"""``eldercare departments …``: what the departments recorded, read through the departments
service over RPC — a division's figures (65+ checked this year, open cases, pensions…), its
cases, one elder's records. The records themselves are written by each department's people
through the API (``/api/elders/<id>/health-checks``, ``/api/cases`` …), signed in as
themselves: the command line writes none."""
from __future__ import annotations

import sys
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
