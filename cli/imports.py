"""``eldercare import …``: a county ledger (XLSX or CSV) into the registry through the
imports service over RPC — upload and dry run with its report, duplicates to decide,
commit with a progress bar. Running a command again is safe: the same file is the same
import, and a commit resumes where it stopped."""
from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Optional

import sys

import typer
from nameko.standalone.rpc import ClusterRpcProxy
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.console import Console
from rich.table import Table

from kernel.config import amqp_uri, load_config
from kernel.errors import EldercareError, ValidationError
from kernel.likeness import REASON_LABELS

import_app = typer.Typer(no_args_is_help=True, help="Import a county's elder ledger (台账导入) from XLSX or CSV.")
STATE = {"config_path": None}
POLL_SECONDS = 0.5


def _rpc(timeout: float = 300):
    config = load_config(STATE["config_path"])
    return ClusterRpcProxy({"AMQP_URI": amqp_uri(config), "serializer": "json"}, timeout=timeout)


CONSOLE = Console(stderr=True, soft_wrap=True)


def _console() -> Console:
    return CONSOLE


def _out() -> Console:
    """Tables on stdout: full width when piped."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240)


def _actor(user: str) -> dict:
    return {"department": "civil_affairs", "user": user, "role": "county_coordinator"}


def _fail(error: EldercareError):
    console = _console()
    console.print(f"[bold red]error:[/] {error.message}")
    for field, messages in (getattr(error, "errors", None) or {}).items():
        for message in messages:
            console.print(f"  [red]{field}[/]: {message}")
    raise typer.Exit(1)


def _wait(rpc, import_id: str, until: str, label: str, count) -> dict:
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  "[progress.percentage]{task.percentage:>3.0f}%", TimeRemainingColumn(), console=_console()) as bar:
        task = bar.add_task(label, total=None)
        while True:
            record = rpc.imports.get_import(import_id)
            if record["status"] == "failed":
                raise ValidationError({"file": [record["problem"]]})
            total, done = count(record["summary"])
            bar.update(task, total=total or None, completed=done)
            if record["status"] == until:
                return record
            time.sleep(POLL_SECONDS)


def _print_summary(record: dict) -> None:
    s = record["summary"]
    _console().print(f"[bold]{record['import_id']}[/] {record['filename']} ({record['status']}): {s['rows']} rows — "
                     f"accepted {s['accepted']}, refused {s['refused']}, already in the ledger {s['existing']}, "
                     f"same person twice in the file {s['same_person']}, probable duplicates "
                     f"{s['probable_duplicates']} (undecided {s['undecided_duplicates']}), registered {s['registered']}")


@import_app.command("template")
def template(out: Path = typer.Option(Path("留守老年人台账模板.xlsx"), "--out", help="where to write it")):
    """Write the ledger template (Chinese headers, an example row, how to fill each column)."""
    with _rpc() as rpc:
        answer = rpc.imports.template()
    out.write_bytes(base64.b64decode(answer["content_base64"]))
    _console().print(f"[green]✓[/] template written to {out}")


@import_app.command("dry-run")
def dry_run(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="the ledger, .xlsx or .csv"),
            jurisdiction: str = typer.Option(..., help="the county's 12-digit division code, e.g. 410928000000"),
            map_: Optional[list[str]] = typer.Option(None, "--map", help="column=the file's header, e.g. "
                                                     "resident_id=证件号码 (repeat)"),
            report: Optional[Path] = typer.Option(None, help="write the dry-run report (XLSX) here"),
            user: str = typer.Option("cli", help="the civil-affairs user importing")):
    """Upload and check every row with the registry's rules; nothing is registered."""
    mapping = dict(item.split("=", 1) for item in map_ or [] if "=" in item) or None
    try:
        with _rpc() as rpc:
            record = rpc.imports.open_import({"filename": file.name, "jurisdiction": jurisdiction, "mapping": mapping,
                                              "content_base64": base64.b64encode(file.read_bytes()).decode()},
                                             _actor(user))
            record = _wait(rpc, record["import_id"], "checked", "dry run",
                           lambda s: (s["rows"], s["rows"] - s["pending"])) \
                if record["status"] in ("reading", "checking") else record
            _print_summary(record)
            if report is not None:
                answer = rpc.imports.report(record["import_id"])
                report.write_bytes(base64.b64decode(answer["content_base64"]))
                _console().print(f"[green]✓[/] report written to {report}")
    except EldercareError as error:
        _fail(error)


@import_app.command("show")
def show(import_id: str, refused: bool = typer.Option(False, help="list the refused rows too")):
    """An import's status and figures."""
    try:
        with _rpc() as rpc:
            _print_summary(rpc.imports.get_import(import_id))
            if refused:
                table = Table("行号 row", "列 column", "原因 reason")
                for row in rpc.imports.refused_rows({"import_id": import_id, "limit": 1000}):
                    for problem in row["problems"]:
                        table.add_row(str(row["row"]), problem["column"], problem["reason"])
                _out().print(table)
    except EldercareError as error:
        _fail(error)


@import_app.command("duplicates")
def duplicates(import_id: str):
    """Probable duplicates waiting for a person to decide (merge or keep both)."""
    try:
        with _rpc() as rpc:
            rows = rpc.imports.duplicates({"import_id": import_id, "limit": 1000})
    except EldercareError as error:
        _fail(error)
    table = Table("行号 row", "疑似与之重复 other", "依据 reason", "处理 decision")
    for row in rows:
        table.add_row(str(row["row"]), row["other"], REASON_LABELS[row["reason"]][0],
                      ("已合并 merged" if row["merged"] else row["decision"] or "待定 undecided"))
    _out().print(table)


@import_app.command("decide")
def decide(import_id: str, row: int, other: str = typer.Argument(..., help="row:<n> or elder:<elder_id>"),
           decision: str = typer.Argument(..., help="merge or keep-both"),
           user: str = typer.Option("cli", help="the civil-affairs user deciding")):
    """Decide one probable duplicate: merge (reversible, with the registry's merge) or keep both."""
    try:
        with _rpc() as rpc:
            record = rpc.imports.decide_duplicate({"import_id": import_id, "row": row, "other": other,
                                                   "decision": decision.replace("-", "_")}, _actor(user))
    except EldercareError as error:
        _fail(error)
    _print_summary(record)


@import_app.command("commit")
def commit(import_id: str, user: str = typer.Option("cli", help="the civil-affairs user committing")):
    """Register the accepted rows (resumes where a stopped commit left off; never twice)."""
    try:
        with _rpc() as rpc:
            rpc.imports.commit({"import_id": import_id}, _actor(user))
            record = _wait(rpc, import_id, "committed", "registering",
                           lambda s: (s["accepted"], s["registered"]))
    except EldercareError as error:
        _fail(error)
    _print_summary(record)
