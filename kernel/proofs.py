"""Offline evidence: an event with its inclusion proof in a signed checkpoint, and audit
bundles (events of a jurisdiction and time range, each with its proof, the checkpoints with
consistency proofs between them, the public keys, and a manifest of file hashes).

Everything here can be checked with no database and no service: the event's contents must
produce its hash, the hash its Merkle leaf, the leaf the sealed root through the path, and
the root must carry a valid signature of a listed key.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from kernel import merkle
from kernel.checkpoints import Checkpoint, leaves_of, signature_problem
from kernel.schema import events as events_table
from kernel.store import row_hash

BUNDLE_FORMAT = "eldercare-audit-bundle/v1"


def event_proof(row: dict, tree: merkle.MerkleTree, checkpoint: Checkpoint | None) -> dict:
    """The event row and, when a checkpoint covers it, its inclusion path in that checkpoint."""
    proof = {"event": row, "leaf_index": row["position"] - 1, "checkpoint_size": None, "inclusion_path": None}
    if checkpoint is not None and row["position"] <= checkpoint.tree_size:
        proof["checkpoint_size"] = checkpoint.tree_size
        proof["inclusion_path"] = [h.hex() for h in tree.inclusion_proof(row["position"] - 1, checkpoint.tree_size)]
    return proof


def event_proof_problems(proof: dict, checkpoint: Checkpoint | None, public_keys: dict) -> list[str]:
    event = proof["event"]
    problems = []
    if row_hash(event) != event["hash"]:
        problems.append("the event's contents do not produce its hash (edited)")
    if proof["inclusion_path"] is None or checkpoint is None:
        return problems + ["not covered by a checkpoint yet (unsealed): only its own hash was checked"]
    leaf = merkle.leaf_hash(bytes.fromhex(event["hash"]))
    path = [bytes.fromhex(h) for h in proof["inclusion_path"]]
    if not merkle.verify_inclusion(proof["leaf_index"], checkpoint.tree_size, leaf, path,
                                   bytes.fromhex(checkpoint.root_hash)):
        problems.append(f"not included in the log sealed at size {checkpoint.tree_size}")
    problem = signature_problem(checkpoint, public_keys)
    if problem:
        problems.append(f"checkpoint {checkpoint.tree_size}: {problem}")
    return problems


def _rows(engine: Engine, jurisdiction: str, since: datetime | None, until: datetime | None):
    """Streamed: a million-event export does not hold its rows in memory."""
    statement = select(events_table).order_by(events_table.c.position)
    if jurisdiction:
        statement = statement.where(events_table.c.jurisdiction.startswith(jurisdiction))
    if since is not None:
        statement = statement.where(events_table.c.recorded_time >= _iso(since))
    if until is not None:
        statement = statement.where(events_table.c.recorded_time < _iso(until))
    with engine.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=10000).execute(statement):
            yield dict(row._mapping)


def _iso(moment: datetime) -> str:
    from kernel.envelope import format_time
    return format_time(moment.astimezone(timezone.utc))


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_bundle(out: Path, logs: dict[str, tuple[Engine, list[Checkpoint]]], public_keys_file: Path,
                  jurisdiction: str = "", since: datetime | None = None, until: datetime | None = None,
                  on_progress=lambda _service, _n: None) -> dict:
    """Write the bundle into directory ``out``; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"format": BUNDLE_FORMAT, "created_at": _iso(datetime.now(timezone.utc)),
                "jurisdiction": jurisdiction, "since": since and _iso(since), "until": until and _iso(until),
                "services": {}, "files": {}}
    held = {}
    for service, (engine, checkpoints) in logs.items():
        with engine.connect() as conn:
            hashes = conn.execute(select(events_table.c.hash).order_by(events_table.c.position)).scalars().all()
        tree = merkle.MerkleTree(leaves_of(hashes))
        ordered = sorted(checkpoints, key=lambda c: c.tree_size)
        covering = [c for c in ordered if c.tree_size <= tree.size]
        latest = covering[-1] if covering else None
        count = 0
        with (out / f"{service}.events.jsonl").open("w", encoding="utf-8") as handle:
            for row in _rows(engine, jurisdiction, since, until):
                handle.write(json.dumps(event_proof(row, tree, latest), ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        on_progress(service, count)
        held[service] = [{**c.to_dict(), "consistency_from_previous": (
            [h.hex() for h in tree.consistency_proof(previous.tree_size, c.tree_size)]
            if previous is not None and previous.tree_size < c.tree_size else None)}
            for previous, c in zip([None] + covering[:-1], covering)]
        manifest["services"][service] = {"events": count, "log_size": tree.size,
                                         "latest_checkpoint": latest.tree_size if latest else None}
    (out / "checkpoints.json").write_text(json.dumps(held, indent=2, sort_keys=True), encoding="utf-8")
    (out / "public_keys.yml").write_bytes(Path(public_keys_file).read_bytes())
    for path in sorted(out.iterdir()):
        if path.name != "manifest.json":
            manifest["files"][path.name] = _sha256_file(path)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


@dataclass
class BundleReport:
    checked: dict[str, int] = field(default_factory=dict)
    unsealed: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(directory: Path) -> BundleReport:
    """Check a bundle offline: manifest hashes, signatures, consistency between checkpoints,
    every event's hash and inclusion proof."""
    report = BundleReport()
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        report.problems.append(f"{manifest_path} is missing: not an audit bundle")
        return report
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != BUNDLE_FORMAT:
        report.problems.append(f"unknown bundle format {manifest.get('format')!r}")
        return report
    for name, expected in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            report.problems.append(f"{name} is listed in the manifest but missing")
        elif _sha256_file(path) != expected:
            report.problems.append(f"{name} does not match its hash in the manifest (altered)")
    if report.problems:
        return report
    public_keys = yaml.safe_load((directory / "public_keys.yml").read_text(encoding="utf-8")) or {}
    held = json.loads((directory / "checkpoints.json").read_text(encoding="utf-8"))
    for service in manifest["services"]:
        checkpoints = {c["tree_size"]: Checkpoint.from_dict(c) for c in held.get(service, [])}
        _check_checkpoint_chain(service, held.get(service, []), public_keys, report)
        checked = unsealed = 0
        with (directory / f"{service}.events.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                proof = json.loads(line)
                problems = event_proof_problems(proof, checkpoints.get(proof["checkpoint_size"]), public_keys)
                if proof["inclusion_path"] is None and len(problems) == 1:
                    unsealed += 1
                elif problems:
                    report.problems += [f"{service} position {proof['event']['position']}: {p}" for p in problems]
                checked += 1
        report.checked[service], report.unsealed[service] = checked, unsealed
    return report


def _check_checkpoint_chain(service: str, entries: list[dict], public_keys: dict, report: BundleReport) -> None:
    previous = None
    for entry in entries:
        checkpoint = Checkpoint.from_dict(entry)
        problem = signature_problem(checkpoint, public_keys)
        if problem:
            report.problems.append(f"{service} checkpoint {checkpoint.tree_size}: {problem}")
        if previous is not None and entry["consistency_from_previous"] is not None:
            proof = [bytes.fromhex(h) for h in entry["consistency_from_previous"]]
            if not merkle.verify_consistency(previous.tree_size, checkpoint.tree_size, proof,
                                             bytes.fromhex(previous.root_hash), bytes.fromhex(checkpoint.root_hash)):
                report.problems.append(f"{service} checkpoint {checkpoint.tree_size} is not consistent with "
                                       f"checkpoint {previous.tree_size} (history forked or rewritten)")
        previous = checkpoint
