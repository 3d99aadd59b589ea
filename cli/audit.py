"""``eldercare audit``: the auditor's tool. Reads each service's log read-only (by database
URL from config.yml / the environment) and the checkpoints the audit witness holds; needs
no running service. Exit code 0 = everything verified, 1 = tampering or inconsistency
found, 2 = bad input (unknown service, unreadable key list, ...)."""
from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

audit_app = typer.Typer(no_args_is_help=True, help="Verify, prove, trace and export the event logs (auditors).")
console = Console(stderr=True)


@audit_app.callback()
def _group():
    """Keeps ``verify`` etc. as subcommands even while the group has a single command."""


def _config():
    from kernel.config import load_config
    return load_config()


def _fail(message: str, code: int = 2):
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _sealing_services(requested):
    from contracts.audit import SEALING_SERVICES
    for service in requested or ():
        if service not in SEALING_SERVICES:
            _fail(f"unknown service {service!r}; choose from {', '.join(SEALING_SERVICES)}")
    return list(requested or SEALING_SERVICES)


def _engine(config, service: str):
    from kernel.config import database_url
    from kernel.db import create_service_engine
    return create_service_engine(database_url(config, service))


def _public_keys(config, path: Optional[str]):
    from kernel.checkpoints import PUBLIC_KEYS_FILE, CheckpointKeyError, load_public_keys
    from kernel.config import repository_path, setting
    try:
        return load_public_keys(path or repository_path(f"{setting(config, 'CHECKPOINTS', 'key_dir', 'var/keys')}/"
                                                        f"{PUBLIC_KEYS_FILE}"))
    except CheckpointKeyError as exc:
        _fail(exc.message)


@audit_app.command()
def verify(services: list[str] = typer.Argument(None, help="default: every sealing service"),
           public_keys: Optional[str] = typer.Option(None, help="public key list (default: <key_dir>/public_keys.yml)"),
           as_json: bool = typer.Option(False, "--json")):
    """Each log's hash chain, and each checkpoint the witness holds for it (signature, the
    live log still produces the sealed root, consecutive checkpoints consistent)."""
    from kernel.checkpoints import audit_log
    from services.audit.tables import held_checkpoints_of
    from sqlalchemy.exc import OperationalError, ProgrammingError
    config = _config()
    keys = _public_keys(config, public_keys)
    witness = _engine(config, "audit")
    reports = []
    for service in _sealing_services(services):
        engine = _engine(config, service)
        try:
            reports.append(audit_log(service, engine, held_checkpoints_of(witness, service), keys))
        except (OperationalError, ProgrammingError) as exc:
            _fail(f"cannot read the {service} log or the witness database ({exc.orig}); "
                  "is it migrated (`eldercare migrate`) and reachable?")
        finally:
            engine.dispose()
    witness.dispose()
    if as_json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        _print_verification(reports)
    raise typer.Exit(0 if all(r.ok for r in reports) else 1)


def _print_verification(reports) -> None:
    table = Table("service", "events", "hash chain", "checkpoints held", "checkpoint problems", title="audit verify")
    for report in reports:
        chain = "[green]intact[/]" if report.chain.ok else \
            f"[red]broken at {report.chain.first_bad_position}: {report.chain.problem}[/]"
        bad = [f for f in report.findings if not f.ok]
        problems = "\n".join(f"size {f.tree_size} ({f.sealed_at}): {f.problem}" for f in bad) or "[green]none[/]"
        table.add_row(report.source, str(report.chain.checked), chain, str(len(report.findings)), problems)
    Console().print(table)


def main() -> None:
    from kernel.logging import configure_logging
    configure_logging("audit-cli", json_output=False, level="WARNING")
    audit_app()
