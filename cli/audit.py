"""``eldercare audit``: the auditor's tool. Reads each service's log read-only (by database
URL from config.yml / the environment) and the checkpoints the audit witness holds; needs
no running service. Exit code 0 = everything verified, 1 = tampering or inconsistency
found, 2 = bad input (unknown service, unreadable key list, ...)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
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
    from contracts.services import SEALING_SERVICES
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
           bundle: Optional[Path] = typer.Option(None, help="check an exported bundle offline instead"),
           as_json: bool = typer.Option(False, "--json")):
    """Each log's hash chain, and every checkpoint found for it, in every witness and in the
    log itself (signature; the live log still produces the sealed root and, where a witness
    recorded it, the hash the checkpoint's event had; consecutive checkpoints consistent). A
    cut tail is named by the position the log now ends at, a rewrite by the range between the
    last checkpointed position that matches and the first that does not. With ``--bundle``:
    the bundle's manifest, signatures, consistency and every event's proof."""
    if bundle is not None:
        _verify_bundle(bundle, as_json)
    from kernel.checkpoints import audit_log
    from sqlalchemy.exc import OperationalError, ProgrammingError
    config = _config()
    keys = _public_keys(config, public_keys)
    reports = []
    chosen = _sealing_services(services)
    held = _held_everywhere(config, chosen)
    for service in chosen:
        engine = _engine(config, service)
        try:
            reports.append(audit_log(service, engine, held[service], keys))
        except (OperationalError, ProgrammingError) as exc:
            _fail(f"cannot read the {service} log or a witness database ({exc.orig}); "
                  "is it migrated (`eldercare migrate`) and reachable?")
        finally:
            engine.dispose()
    if as_json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        _print_verification(reports)
    raise typer.Exit(0 if all(r.ok for r in reports) else 1)


def _verify_bundle(directory: Path, as_json: bool):
    from kernel.proofs import verify_bundle
    if not directory.is_dir():
        _fail(f"{directory} is not a directory (an audit bundle is the directory `export` wrote)")
    report = verify_bundle(directory)
    if as_json:
        print(json.dumps({"ok": report.ok, "checked": report.checked, "unsealed": report.unsealed,
                          "problems": report.problems}, ensure_ascii=False, indent=2))
    else:
        for service, count in report.checked.items():
            console.print(f"{service}: {count} events checked, {report.unsealed[service]} not yet sealed")
        for problem in report.problems:
            console.print(f"[red]✗ {problem}[/]")
        console.print("[green]✓ bundle verified[/]" if report.ok else "[bold red]✗ bundle does not verify[/]")
    raise typer.Exit(0 if report.ok else 1)


def _held_everywhere(config, sources) -> dict:
    """Per source, the checkpoints held by every witness (the audit service and each other
    service), once each (``kernel.checkpoints.HeldCheckpoint``: with the position and hash its
    event had, and who holds it); two witnesses holding different roots for one size both
    appear, and the one the live log cannot produce is reported. Each witness database is
    opened once."""
    from contracts.services import SEALING_SERVICES
    from kernel.checkpoints import merge_held
    from kernel.witness import held_evidence_of
    from sqlalchemy.exc import OperationalError, ProgrammingError
    found: dict[str, list] = {source: [] for source in sources}
    for witness_name in ("audit",) + SEALING_SERVICES:
        witness = _engine(config, witness_name)
        try:
            for source in sources:
                if source == witness_name:
                    continue            # its own checkpoints are read from the log by audit_log
                found[source] += held_evidence_of(witness, source, witness_name)
        except (OperationalError, ProgrammingError):
            pass    # a witness whose database is absent or not migrated holds nothing
        finally:
            witness.dispose()
    return {source: merge_held(held) for source, held in found.items()}


def _held_checkpoints(config, sources) -> dict:
    """The signed checkpoints alone (proofs and bundles carry only those)."""
    return {source: [h.checkpoint for h in held] for source, held in _held_everywhere(config, sources).items()}


@audit_app.command()
def prove(service: str, position: int, out: Optional[Path] = typer.Option(None, help="write the proof here")):
    """An inclusion proof for one event (e.g. a disbursement) in the latest checkpoint the
    witness holds that covers it; check it anywhere with ``check-proof``."""
    from kernel import merkle
    from kernel.checkpoints import log_leaves
    from kernel.proofs import event_proof
    from kernel.schema import events
    from sqlalchemy import select
    config = _config()
    [service] = _sealing_services([service])
    engine = _engine(config, service)
    with engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.position == position)).first()
    if row is None:
        _fail(f"{service} has no event at position {position}")
    covering = [c for c in _held_checkpoints(config, [service])[service] if c.tree_size >= position]
    if not covering:
        _fail(f"no checkpoint held for {service} covers position {position} yet; wait for the next seal")
    checkpoint = covering[0]
    tree = merkle.MerkleTree(log_leaves(engine, up_to=checkpoint.tree_size))
    engine.dispose()
    proof = {**event_proof(dict(row._mapping), tree, checkpoint), "checkpoint": checkpoint.to_dict()}
    text = json.dumps(proof, ensure_ascii=False, indent=2, sort_keys=True)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"[green]✓[/] proof of {service} position {position} in checkpoint {checkpoint.tree_size} → {out}")
    else:
        print(text)


@audit_app.command("check-proof")
def check_proof(proof_file: Path, public_keys: Optional[str] = typer.Option(None, help="public key list")):
    """Check a proof written by ``prove`` with no database: contents → hash → leaf → root → signature."""
    from kernel.checkpoints import Checkpoint
    from kernel.proofs import event_proof_problems
    try:
        proof = json.loads(proof_file.read_text(encoding="utf-8"))
        checkpoint = Checkpoint.from_dict(proof["checkpoint"])
    except (OSError, ValueError, KeyError) as exc:
        _fail(f"{proof_file} is not a proof written by `eldercare audit prove`: {exc}")
    problems = event_proof_problems(proof, checkpoint, _public_keys(_config(), public_keys))
    for problem in problems:
        console.print(f"[red]✗ {problem}[/]")
    if not problems:
        event = proof["event"]
        console.print(f"[green]✓[/] {event['source']} position {event['position']} ({event['type']}) is in the "
                      f"log sealed at size {checkpoint.tree_size} on {checkpoint.sealed_at}, signed by {checkpoint.key_id}")
    raise typer.Exit(1 if problems else 0)


@audit_app.command()
def export(out: Path, services: list[str] = typer.Option(None, "--service", help="default: every sealing service"),
           jurisdiction: str = typer.Option("", help="division code prefix, e.g. 410928 (default: all)"),
           since: Optional[datetime] = typer.Option(None, help="recorded at or after (UTC)"),
           until: Optional[datetime] = typer.Option(None, help="recorded before (UTC)"),
           public_keys: Optional[str] = typer.Option(None, help="public key list to include")):
    """Write an audit bundle: events (JSON Lines, each with its inclusion proof), checkpoints
    with consistency proofs, public keys and a manifest of file hashes."""
    from kernel.checkpoints import PUBLIC_KEYS_FILE
    from kernel.config import repository_path, setting
    from kernel.proofs import export_bundle
    config = _config()
    _public_keys(config, public_keys)   # fails clearly if unreadable
    keys_file = Path(public_keys or repository_path(
        f"{setting(config, 'CHECKPOINTS', 'key_dir', 'var/keys')}/{PUBLIC_KEYS_FILE}"))
    chosen = _sealing_services(services)
    held = _held_checkpoints(config, chosen)
    logs = {s: (_engine(config, s), held[s]) for s in chosen}
    utc = lambda moment: moment and (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))  # noqa: E731
    manifest = export_bundle(out, logs, keys_file, jurisdiction, utc(since), utc(until),
                             on_progress=lambda s, n: console.print(f"  {s}: {n} events"))
    for engine, _ in logs.values():
        engine.dispose()
    console.print(f"[green]✓[/] bundle written to {out} ({sum(v['events'] for v in manifest['services'].values())} "
                  "events); check it with `eldercare audit verify --bundle " + str(out) + "`")


@audit_app.command()
def replay(service: str, as_json: bool = typer.Option(False, "--json"),
           scratch_dir: Optional[str] = typer.Option(None, help="where the scratch database goes (default: temp)")):
    """Rebuild a service's projections from its log in a scratch database and report every
    row that differs from the live projections (drift). Exit 1 on drift."""
    from cli.services import catalogue_of, projections_of
    from kernel.replay import replay_and_compare
    config = _config()
    [service] = _sealing_services([service])
    engine = _engine(config, service)
    try:
        replayed, drifts = replay_and_compare(service, engine, projections_of(service, config),
                                              catalogue_of(service), scratch_dir)
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps({"service": service, "events": replayed, "drift": [d.to_dict() for d in drifts]},
                         ensure_ascii=False, indent=2, default=str))
    else:
        for drift in drifts[:200]:
            console.print(f"[red]✗ {drift.table} {drift.key}: {drift.kind}[/] {drift.columns or ''}")
        console.print(f"{service}: {replayed} events replayed; "
                      + ("[green]projections match[/]" if not drifts else f"[red]{len(drifts)} rows drift[/]"))
    raise typer.Exit(1 if drifts else 0)


trace_app = typer.Typer(no_args_is_help=True, help="Cross-service histories, for justifying a decision.")
audit_app.add_typer(trace_app, name="trace")


@trace_app.command("elder")
def trace_elder(elder_id: str, as_json: bool = typer.Option(False, "--json")):
    """Every event about one elder in every service's log (status changes, visits, alerts,
    admissions, disbursements) in the order they took effect, with source, position, actor
    and hash."""
    from kernel.trace import events_about
    config = _config()
    found = []
    for service in _sealing_services(None):
        engine = _engine(config, service)
        try:
            found += events_about(engine, elder_id)
        except Exception as exc:  # noqa: BLE001 - a service without a database is reported, not fatal
            console.print(f"[yellow]skipped {service}: {type(exc).__name__}: {str(exc).splitlines()[0]}[/]")
        finally:
            engine.dispose()
    found.sort(key=lambda e: (e["time"], e["recorded_time"], e["source"], e["position"]))
    if not found:
        _fail(f"no service's log mentions elder {elder_id!r}", 1)
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return
    table = Table("in effect", "recorded", "source", "pos", "event", "actor", "hash", title=f"elder {elder_id}")
    for event in found:
        table.add_row(event["time"][:10], event["recorded_time"][:19], event["source"], str(event["position"]),
                      event["type"], event["actor"], event["hash"][:12])
    Console().print(table)


@trace_app.command("disbursement")
def trace_disbursement(event_id: str, as_json: bool = typer.Option(False, "--json")):
    """Justify one amount: the disbursement (or adjustment) event, its rule version and hash,
    the facts it was computed from and the registry and facilities events behind them (in
    effect on the month's first day, recorded before the amount), the run's start, approval
    and payment, and any later adjustment that corrected it."""
    from kernel.trace import corrections_of, facts_behind, find_event, run_events
    config = _config()
    engine = _engine(config, "subsidies")
    try:
        entry = find_event(engine, event_id)
        if entry is None or entry["type"] not in ("subsidies.disbursement_computed.v1",
                                                   "subsidies.adjustment_computed.v1"):
            _fail(f"no disbursement or adjustment {event_id!r} in the subsidies log", 1)
        run = [e for e in run_events(engine, entry["data"]["run_id"]) if e["type"] not in (
            "subsidies.disbursement_computed.v1", "subsidies.adjustment_computed.v1")]
        corrections = corrections_of(engine, event_id)
    finally:
        engine.dispose()
    data = entry["data"]
    facts = data.get("facts") or {}
    behind = []
    if data.get("beneficiary_kind") == "elder" and facts.get("as_of"):
        for source in ("registry", "facilities"):
            source_engine = _engine(config, source)
            try:
                behind += facts_behind(source_engine, data["beneficiary_id"], facts["as_of"], entry["recorded_time"])
            except Exception as exc:  # noqa: BLE001 - a missing source is reported, not fatal
                console.print(f"[yellow]could not read the {source} log: {type(exc).__name__}[/]")
            finally:
                source_engine.dispose()
    behind.sort(key=lambda e: (e["time"], e["recorded_time"]))
    trace = {"entry": entry, "rule": {"version": data.get("rule_version"), "hash": data.get("rule_hash")},
             "facts": facts, "fact_events": behind, "run": run, "corrected_by": corrections}
    if as_json:
        print(json.dumps(trace, ensure_ascii=False, indent=2))
        return
    out = Console()
    out.print(f"[bold]{entry['type']}[/] {event_id}: {data.get('amount_fen')} fen to {data['beneficiary_id']} "
              f"for {data['programme']} {data['period']} (run {data['run_id']})")
    out.print(f"rule {data.get('rule_version')}  hash {data.get('rule_hash')}")
    out.print(f"facts on {facts.get('as_of')}: " + ", ".join(f"{k}={v}" for k, v in facts.items() if k != "as_of"))
    table = Table("in effect", "recorded", "source", "event", "event id", title="events the facts came from")
    for event in behind:
        table.add_row(event["time"][:10], event["recorded_time"][:19], event["source"], event["type"], event["event_id"])
    out.print(table)
    for event in run + corrections:
        out.print(f"{event['recorded_time'][:19]}  {event['type']}  by {event['actor']}  {event['event_id']}")


def _print_verification(reports) -> None:
    table = Table("service", "events", "hash chain", "checkpoints", "checkpoint problems", title="audit verify")
    for report in reports:
        chain = "[green]intact[/]" if report.chain.ok else \
            f"[red]broken at {report.chain.first_bad_position}: {report.chain.problem}[/]"
        bad = [f for f in report.findings if not f.ok]
        # Every checkpoint after a rewrite fails alike: the first few say where, a count says how many.
        problems = "\n".join(f"size {f.tree_size} ({f.sealed_at}): {f.problem}" for f in bad[:3]) or "[green]none[/]"
        if len(bad) > 3:
            problems += f"\n… and {len(bad) - 3} later checkpoints"
        table.add_row(report.source, str(report.chain.checked), chain, str(len(report.findings)), problems)
    out = Console()
    out.print(table)
    for report in reports:
        if (first := report.first_bad) is not None:
            where = f"position {first['from']}" if first["from"] == first["to"] else \
                f"a position in {first['from']}..{first['to']}"
            what = {"chain": "the hash chain breaks", "rewritten": "history was rewritten",
                    "truncated": "the log was cut: events are missing"}[first["kind"]]
            out.print(f"[bold red]✗ {report.source}: {what} from {where}[/]")


def main() -> None:
    from kernel.logging import configure_logging
    configure_logging("audit-cli", json_output=False, level="WARNING")
    audit_app()
