"""``eldercare survey …``: survey campaigns (全面摸底排查) through the surveys service over RPC —
open one for a county or city, follow completion, record a visit, report late villages,
close with the report."""
from __future__ import annotations

import json
from typing import Optional

import sys

import typer
from nameko.standalone.rpc import ClusterRpcProxy
from rich.console import Console
from rich.table import Table

from kernel.config import amqp_uri, load_config
from kernel.errors import EldercareError

survey_app = typer.Typer(no_args_is_help=True, help="Survey campaigns (全面摸底排查) with deadlines.")
STATE = {"config_path": None}


def _rpc():
    config = load_config(STATE["config_path"])
    return ClusterRpcProxy({"AMQP_URI": amqp_uri(config), "serializer": "json"}, timeout=120)


def _actor(user: str, role: str = "county_coordinator") -> dict:
    return {"department": "civil_affairs", "user": user, "role": role}


CONSOLE = Console(stderr=True, soft_wrap=True)


def _console() -> Console:
    return CONSOLE


def _out() -> Console:
    """Tables on stdout: full width when piped."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240)


def _fail(error: EldercareError):
    _console().print(f"[bold red]error:[/] {error.message}")
    for field, messages in (getattr(error, "errors", None) or {}).items():
        for message in messages:
            _console().print(f"  [red]{field}[/]: {message}")
    raise typer.Exit(1)


def _print(campaign: dict) -> None:
    _console().print(f"[bold]{campaign['campaign_id']}[/] ({campaign['status']}) {campaign['jurisdiction']}: "
                     f"{campaign['surveyed']}/{campaign['elders']} surveyed by {campaign['deadline']} — "
                     f"{campaign['outcomes']}; villages reported late: {len(campaign['villages_reported_late'])}")


@survey_app.command("open")
def open_(campaign_id: str, jurisdiction: str = typer.Option(..., help="12-digit county or city code"),
          deadline: str = typer.Option(..., help="YYYY-MM-DD, after today"),
          name: str = typer.Option("全面摸底排查"),
          field: list[str] = typer.Option(["name", "phone", "address"], "--field", help="a field to confirm (repeat)"),
          user: str = typer.Option("cli")):
    """Open a campaign: every active elder of the jurisdiction becomes a task of their village."""
    try:
        with _rpc() as rpc:
            _print(rpc.surveys.open_campaign({"campaign_id": campaign_id, "name": name, "jurisdiction": jurisdiction,
                                              "deadline": deadline, "fields_to_confirm": field}, _actor(user)))
    except EldercareError as error:
        _fail(error)


@survey_app.command("progress")
def progress(campaign_id: str, division: Optional[str] = typer.Option(None, help="a township: its villages")):
    """Completion per township (or per village of one township)."""
    try:
        with _rpc() as rpc:
            _print(rpc.surveys.get_campaign(campaign_id))
            rows = rpc.surveys.progress({"campaign_id": campaign_id, "division_code": division})
    except EldercareError as error:
        _fail(error)
    table = Table("区划 division", "已排查 surveyed", "应排查 total", "完成率 share")
    for row in rows:
        table.add_row(row["division_code"], str(row["surveyed"]), str(row["total"]), f"{row['share']:.0%}")
    _out().print(table)


@survey_app.command("record")
def record(campaign_id: str, elder_id: str,
           outcome: str = typer.Argument(..., help="confirmed, corrected or not_found"),
           surveyed_on: str = typer.Option(..., help="YYYY-MM-DD"), visitor: str = typer.Option(...),
           corrections: Optional[str] = typer.Option(None, help='JSON, e.g. {"phone": "13800000000"}'),
           user: str = typer.Option("cli")):
    """Record a survey visit (a correction is sent to the registry as its correction)."""
    try:
        changes = json.loads(corrections) if corrections else {}
    except ValueError:
        _console().print("[bold red]error:[/] --corrections must be a JSON object")
        raise typer.Exit(2)
    try:
        with _rpc() as rpc:
            _print(rpc.surveys.record_survey({"campaign_id": campaign_id, "elder_id": elder_id, "outcome": outcome,
                                              "corrections": changes, "surveyed_on": surveyed_on,
                                              "visitor": visitor}, _actor(user, "village_worker")))
    except EldercareError as error:
        _fail(error)


@survey_app.command("report-late")
def report_late():
    """Report villages behind schedule to notifications now (the service's timer does it hourly)."""
    with _rpc() as rpc:
        _console().print(f"{rpc.surveys.report_late_villages()} villages reported late")


@survey_app.command("close")
def close(campaign_id: str, user: str = typer.Option("cli")):
    """Close the campaign with its report (surveyed, corrected, not found, newly found)."""
    try:
        with _rpc() as rpc:
            _print(rpc.surveys.close_campaign({"campaign_id": campaign_id}, _actor(user)))
    except EldercareError as error:
        _fail(error)
