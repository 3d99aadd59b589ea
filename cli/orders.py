"""``eldercare order …``: home-service orders through the orders service over RPC — place one
for an elder, a facility's list, accept, decline, complete, raise the overdue now."""
from __future__ import annotations

import sys
from typing import Optional

import typer
from nameko.standalone.rpc import ClusterRpcProxy
from rich.console import Console
from rich.table import Table

from kernel.config import amqp_uri, load_config
from kernel.errors import EldercareError

order_app = typer.Typer(no_args_is_help=True, help="Home-service orders (助餐、助浴、助洁、助医、陪护).")
STATE = {"config_path": None}
CONSOLE = Console(stderr=True, soft_wrap=True)
SERVICE_NAMES = {"meals": "助餐", "bathing": "助浴", "cleaning": "助洁", "medical_help": "助医", "accompaniment": "陪护"}


def _rpc():
    config = load_config(STATE["config_path"])
    return ClusterRpcProxy({"AMQP_URI": amqp_uri(config), "serializer": "json"}, timeout=120)


def _actor(user: str) -> dict:
    return {"department": "civil_affairs", "user": user, "role": "village_worker"}


def _fail(error: EldercareError):
    CONSOLE.print(f"[bold red]error:[/] {error.message}")
    for field, messages in (getattr(error, "errors", None) or {}).items():
        for message in messages:
            CONSOLE.print(f"  [red]{field}[/]: {message}")
    raise typer.Exit(1)


def _print(order: dict) -> None:
    where = f"→ {order['facility_id']} ({order['nearness']})" if order["facility_id"] else "→ no facility"
    CONSOLE.print(f"[bold]{order['order_id']}[/] {SERVICE_NAMES.get(order['service_kind'], order['service_kind'])} "
                  f"for {order['elder_id']} on {order['service_date']}: {order['status']} {where}; accept by "
                  f"{order['accept_by']}" + (" [red](raised as unaccepted)[/]" if order["unaccepted"] else ""))


def _call(method: str, payload: dict, user: str) -> None:
    try:
        with _rpc() as rpc:
            _print(getattr(rpc.orders, method)(payload, _actor(user)))
    except EldercareError as error:
        _fail(error)


@order_app.command("place")
def place(elder_id: str, service: str = typer.Argument(..., help="meals, bathing, cleaning, medical_help, accompaniment"),
          caller: str = typer.Option("family", help="elder, family, visitor or device"),
          on: Optional[str] = typer.Option(None, help="service date YYYY-MM-DD (default today)"),
          facility: Optional[str] = typer.Option(None, help="a facility asked for by the caller"),
          note: str = typer.Option(""), user: str = typer.Option("cli")):
    """Place an order: it goes to the nearest facility offering the service with a place that day."""
    _call("place_order", {"elder_id": elder_id, "service_kind": service, "caller": caller, "service_date": on,
                          "facility_id": facility, "note": note}, user)


@order_app.command("accept")
def accept(order_id: str, facility: str = typer.Option(...), user: str = typer.Option("cli")):
    """The facility offered the order accepts it."""
    _call("accept_order", {"order_id": order_id, "facility_id": facility}, user)


@order_app.command("decline")
def decline(order_id: str, facility: str = typer.Option(...), reason: str = typer.Option(...),
            user: str = typer.Option("cli")):
    """Decline: the next nearest facility is offered the order."""
    _call("decline_order", {"order_id": order_id, "facility_id": facility, "reason": reason}, user)


@order_app.command("complete")
def complete(order_id: str, facility: str = typer.Option(...), on: Optional[str] = typer.Option(None),
             note: str = typer.Option(""), user: str = typer.Option("cli")):
    """Delivered (only after acceptance)."""
    _call("complete_order", {"order_id": order_id, "facility_id": facility, "delivered_on": on, "note": note}, user)


@order_app.command("list")
def list_(facility: str = typer.Option(...), status: Optional[str] = typer.Option(None),
          on: Optional[str] = typer.Option(None, help="service date YYYY-MM-DD")):
    """A facility's orders."""
    try:
        with _rpc() as rpc:
            rows = rpc.orders.facility_orders({"facility_id": facility, "status": status, "service_date": on})
    except EldercareError as error:
        _fail(error)
    table = Table("订单 order", "服务 service", "老人 elder", "日期 date", "状态 status", "接单期限 accept by")
    for row in rows:
        table.add_row(row["order_id"], SERVICE_NAMES.get(row["service_kind"], row["service_kind"]), row["elder_id"],
                      row["service_date"], row["status"], row["accept_by"])
    Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240).print(table)


@order_app.command("raise-overdue")
def raise_overdue():
    """Raise orders not accepted by their deadline now (the service's timer does it every minute)."""
    with _rpc() as rpc:
        CONSOLE.print(f"{rpc.orders.raise_overdue()} orders raised as unaccepted")
