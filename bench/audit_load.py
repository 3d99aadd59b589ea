"""The auditor's checks on a service log of N events: ``audit verify`` (hash chain + Merkle
tree + a signed checkpoint at the head) against a raw SHA-256 over the same rows, and an
audit bundle of the whole log exported and verified offline."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.infra import EventLog
from bench.report import Result
from kernel import merkle
from kernel.checkpoints import CheckpointSigner, init_keys, log_leaves
from kernel.clock import SystemClock
from kernel.proofs import export_bundle, verify_bundle
from kernel.schema import events as events_table


# The auditor's command runs without eventlet, so it may use worker processes; this bench
# process is eventlet-patched, so the timed audit runs in a plain child, as the CLI would.
AUDIT_SCRIPT = """
import json, sys, time
from kernel.checkpoints import Checkpoint, audit_log, load_public_keys
from kernel.db import create_service_engine
url, checkpoint_json, keys_path = sys.argv[1:4]
engine = create_service_engine(url)
checkpoint = Checkpoint.from_dict(json.loads(checkpoint_json))
keys = load_public_keys(keys_path)
started = time.perf_counter()
report = audit_log("registry", engine, [checkpoint], keys)
print(json.dumps({"seconds": time.perf_counter() - started, "ok": report.ok}))
"""


def _audit_in_plain_process(url: str, checkpoint, key_dir: Path) -> float:
    done = subprocess.run([sys.executable, "-c", AUDIT_SCRIPT, url, json.dumps(checkpoint.to_dict()),
                           str(key_dir / "public_keys.yml")], capture_output=True, text=True, check=True)
    outcome = json.loads(done.stdout)
    if not outcome["ok"]:
        raise AssertionError("audit of an intact log failed")
    return outcome["seconds"]


def bench_audit(backend_name: str, log: EventLog) -> Result:
    n = log.events
    with tempfile.TemporaryDirectory(prefix="eldercare_audit_bench_") as directory:
        key_dir = Path(directory) / "keys"
        init_keys(["registry"], key_dir)
        signer = CheckpointSigner.from_key_dir("registry", key_dir)
        root = merkle.MerkleTree(log_leaves(log.engine)).root().hex()
        checkpoint = signer.sign(n, root, SystemClock().now().isoformat())

        kernel_seconds = _audit_in_plain_process(log.url, checkpoint, key_dir)

        started = time.perf_counter()
        with log.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=20000).execute(
                select(events_table).order_by(events_table.c.position))
            for row in result:
                hashlib.sha256("\x1f".join(str(v) for v in row).encode()).digest()
        baseline_seconds = time.perf_counter() - started

        bundle = Path(directory) / "bundle"
        started = time.perf_counter()
        export_bundle(bundle, {"registry": (log.engine, [checkpoint])}, key_dir / "public_keys.yml")
        export_seconds = time.perf_counter() - started
        started = time.perf_counter()
        bundle_report = verify_bundle(bundle)
        bundle_seconds = time.perf_counter() - started
        if not bundle_report.ok:
            raise AssertionError(f"bundle of an intact log failed: {bundle_report.problems[:3]}")
        size_mb = sum(p.stat().st_size for p in bundle.iterdir()) / 1e6
    return Result(
        "audit", backend_name, n, kernel_seconds, baseline_seconds,
        kernel_does=("kernel.checkpoints.audit_log as `eldercare audit verify` runs it (no eventlet, one worker "
                     "process per CPU over position ranges): hash-chain verify + Merkle tree over the chain hashes + "
                     "the signed checkpoint's signature and root"),
        baseline_does="the same streamed SELECT with one SHA-256 per row over its joined columns",
        max_seconds_1m=10.0,
        details={"bundle export": f"{export_seconds:.1f} s", "bundle verify": f"{bundle_seconds:.1f} s",
                 "bundle": f"{size_mb:.0f} MB"})
