"""Signed checkpoints of a service's log, held by other agencies.

A hash chain stops nobody from rewriting history and recomputing every hash after the
edit. So each service periodically seals its log: the RFC 9162 Merkle root over the chain
hashes of events 1..n, signed with the service's Ed25519 key, published as an
``audit.checkpoint_sealed.v1`` event. The audit witness (and anyone else) keeps those events
in a database the sealing agency does not control. Later, the live log must still produce
each held root for its tree size, and consecutive held checkpoints must be consistent
(RFC 9162 consistency proofs); a rewritten history fails even when its chain is intact.

Keys: ``<CHECKPOINTS.key_dir>/<service>.ed25519`` (PKCS#8 PEM, mode 0600) signs; the public
keys are listed in ``<key_dir>/public_keys.yml`` (``eldercare keys init`` creates both).
"""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.engine import Engine

from kernel import merkle
from kernel.config import repository_path
from kernel.errors import EldercareError
from kernel.schema import events as events_table

CHECKPOINT_EVENT = "audit.checkpoint_sealed.v1"
CHECKPOINT_STREAM = "log-checkpoints"
NATIONAL = "000000000000"
DEFAULT_KEY_DIR = "var/keys"
PUBLIC_KEYS_FILE = "public_keys.yml"


class CheckpointKeyError(EldercareError):
    code = "checkpoint_key"


@dataclass(frozen=True)
class Checkpoint:
    source: str
    tree_size: int
    root_hash: str          # hex
    sealed_at: str          # UTC ISO 8601
    key_id: str
    signature: str          # base64 Ed25519 signature of signed_text()

    def signed_text(self) -> bytes:
        return (f"eldercare-checkpoint/v1\n{self.source}\n{self.tree_size}\n{self.root_hash}\n"
                f"{self.sealed_at}\n").encode()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Checkpoint":
        return cls(**{k: data[k] for k in ("source", "tree_size", "root_hash", "sealed_at", "key_id", "signature")})


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_text(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_key.public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)).decode()


class CheckpointSigner:
    def __init__(self, source: str, private_key: Ed25519PrivateKey):
        self.source, self._key = source, private_key
        self.key_id = key_id_of(private_key.public_key())

    @classmethod
    def from_key_dir(cls, source: str, key_dir: str | Path = DEFAULT_KEY_DIR) -> "CheckpointSigner":
        path = repository_path(str(Path(key_dir) / f"{source}.ed25519"))
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise CheckpointKeyError(f"no usable signing key for {source} at {path} "
                                     f"(create one with `eldercare keys init`): {exc}", field="key_dir") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointKeyError(f"{path} is not an Ed25519 key", field="key_dir")
        return cls(source, key)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def sign(self, tree_size: int, root_hash: str, sealed_at: str) -> Checkpoint:
        unsigned = Checkpoint(self.source, tree_size, root_hash, sealed_at, self.key_id, "")
        signature = base64.b64encode(self._key.sign(unsigned.signed_text())).decode()
        return Checkpoint(self.source, tree_size, root_hash, sealed_at, self.key_id, signature)


def init_keys(services, key_dir: str | Path = DEFAULT_KEY_DIR) -> dict[str, str]:
    """Create missing signing keys and (re)write the public key list. Returns service → key id."""
    directory = Path(repository_path(str(key_dir)))
    directory.mkdir(parents=True, exist_ok=True)
    listing = load_public_keys(directory / PUBLIC_KEYS_FILE) if (directory / PUBLIC_KEYS_FILE).exists() else {}
    for service in services:
        path = directory / f"{service}.ed25519"
        if not path.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
        public = CheckpointSigner.from_key_dir(service, directory).public_key
        listing[key_id_of(public)] = {"service": service, "public_key": public_key_text(public)}
    (directory / PUBLIC_KEYS_FILE).write_text(
        "# Ed25519 public keys that sign log checkpoints: key id → service, raw key (base64).\n"
        + yaml.safe_dump(listing, sort_keys=True), encoding="utf-8")
    return {v["service"]: k for k, v in listing.items()}


def load_public_keys(path: str | Path) -> dict[str, dict]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CheckpointKeyError(f"cannot read public keys from {path}: {exc}", field="public_keys") from exc
    if not isinstance(data, dict):
        raise CheckpointKeyError(f"{path}: expected key id → {{service, public_key}}", field="public_keys")
    return data


def signature_problem(checkpoint: Checkpoint, public_keys: dict[str, dict]) -> str | None:
    """None when the checkpoint is signed by a listed key of its own service."""
    listed = public_keys.get(checkpoint.key_id)
    if listed is None:
        return f"signed with key {checkpoint.key_id}, which is not in the public key list"
    if listed["service"] != checkpoint.source:
        return f"key {checkpoint.key_id} belongs to {listed['service']}, not {checkpoint.source}"
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(listed["public_key"]))
    try:
        public.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_text())
    except (InvalidSignature, ValueError):
        return "signature does not match (checkpoint altered or forged)"
    return None


def leaves_of(rows) -> list[bytes]:
    """Merkle leaves: the leaf hash of each event's 32-byte chain hash, in position order."""
    return [merkle.leaf_hash(bytes.fromhex(h)) for h in rows]


def log_leaves(engine: Engine, up_to: int | None = None) -> list[bytes]:
    statement = select(events_table.c.hash).order_by(events_table.c.position)
    if up_to is not None:
        statement = statement.where(events_table.c.position <= up_to)
    with engine.connect() as conn:
        return leaves_of(conn.execute(statement).scalars())


@dataclass(frozen=True)
class CheckpointFinding:
    ok: bool
    tree_size: int
    sealed_at: str
    problem: str | None = None
    first_bad_after: int | None = None   # the rewrite is after this position (an earlier good checkpoint)


def check_log_against(leaves: list[bytes], checkpoints: list[Checkpoint], public_keys: dict[str, dict]) -> list[CheckpointFinding]:
    """Each held checkpoint against the live log's leaves, oldest first, and each pair of
    consecutive checkpoints for consistency (a fork between what two witnesses were told)."""
    findings, last_good_size = [], 0
    tree = merkle.MerkleTree(leaves)
    ordered = sorted(checkpoints, key=lambda c: (c.tree_size, c.sealed_at))
    for previous, checkpoint in zip([None] + ordered[:-1], ordered):
        problem = signature_problem(checkpoint, public_keys)
        if problem is None and checkpoint.tree_size > len(leaves):
            problem = (f"the log has {len(leaves)} events but {checkpoint.tree_size} were sealed "
                       "(events removed from the tail)")
        if problem is None and tree.root(checkpoint.tree_size).hex() != checkpoint.root_hash:
            problem = (f"the first {checkpoint.tree_size} events no longer produce the sealed root "
                       f"(history rewritten after position {last_good_size})")
        if problem is None and previous is not None and previous.tree_size < checkpoint.tree_size:
            proof = tree.consistency_proof(previous.tree_size, checkpoint.tree_size)
            if not merkle.verify_consistency(previous.tree_size, checkpoint.tree_size, proof,
                                             bytes.fromhex(previous.root_hash), bytes.fromhex(checkpoint.root_hash)):
                problem = f"not consistent with the checkpoint of size {previous.tree_size}"
        findings.append(CheckpointFinding(problem is None, checkpoint.tree_size, checkpoint.sealed_at, problem,
                                          None if problem is None else last_good_size))
        if problem is None:
            last_good_size = checkpoint.tree_size
    return findings


def last_checkpoint_position(conn) -> int:
    return conn.execute(select(events_table.c.position).where(events_table.c.type == CHECKPOINT_EVENT)
                        .order_by(events_table.c.position.desc()).limit(1)).scalar() or 0


def seal_log(engine: Engine, store, signer: CheckpointSigner, clock) -> Checkpoint | None:
    """Seal events 1..n (n = the log's head now) and append the checkpoint event to the log
    itself, so the relay publishes it to the witnesses. Nothing to seal → None."""
    from kernel.envelope import Actor, PendingEvent
    from kernel.uow import unit_of_work

    with engine.connect() as conn:
        head, sealed_through = store.last_position(conn), last_checkpoint_position(conn)
    if head == 0 or head == sealed_through:
        return None                 # nothing new since the last checkpoint (or an empty log)
    leaves = log_leaves(engine, up_to=head)
    sealed_at = clock.now().isoformat().replace("+00:00", "Z")
    checkpoint = signer.sign(head, merkle.MerkleTree(leaves).root().hex(), sealed_at)
    with unit_of_work(engine, store, clock) as uow:
        version = uow.stream_version(CHECKPOINT_STREAM)
        uow.append([PendingEvent(stream_id=CHECKPOINT_STREAM, type=CHECKPOINT_EVENT, data=checkpoint.to_dict(),
                                 time=clock.now(), actor=Actor.system(signer.source), jurisdiction=NATIONAL)],
                   {CHECKPOINT_STREAM: version})
    return checkpoint


@dataclass(frozen=True)
class LogAudit:
    source: str
    chain: object                     # kernel.hashchain.ChainReport
    findings: list[CheckpointFinding]

    @property
    def ok(self) -> bool:
        return self.chain.ok and all(f.ok for f in self.findings)

    def to_dict(self) -> dict:
        chain = self.chain
        return {"service": self.source, "ok": self.ok,
                "chain": {"ok": chain.ok, "checked": chain.checked, "first_bad_position": chain.first_bad_position,
                          "problem": chain.problem, "head_hash": chain.head_hash},
                "checkpoints": [asdict(f) for f in self.findings]}


def audit_log(source: str, engine: Engine, checkpoints: list[Checkpoint], public_keys: dict[str, dict]) -> LogAudit:
    """The chain (edits, gaps, reordering) and every held checkpoint (truncation, a chain
    recomputed after an edit, forks between checkpoints)."""
    from kernel.hashchain import verify_log
    hashes: list[str] = []
    chain = verify_log(engine, collect_hashes=hashes)
    # A broken chain stops the scan early; the checkpoints are then checked on the whole log.
    leaves = leaves_of(hashes) if chain.ok else log_leaves(engine)
    return LogAudit(source, chain, check_log_against(leaves, checkpoints, public_keys))

