"""Signed checkpoints of a service's log, held by other agencies.

A hash chain stops nobody from rewriting history and recomputing every hash after the
edit. So each service seals its log after every batch the relay published (at most every
``CHECKPOINTS.after_batch_seconds``): the RFC 9162 Merkle root over the chain hashes of
events 1..n, signed with the service's Ed25519 key, published as an
``audit.checkpoint_sealed.v1`` event. The audit witness (and every other service) keeps those
events, with the position and hash the checkpoint event itself had, in a database the sealing
agency does not control. Later, the live log must still produce each held root for its tree
size and each held hash at its position, and consecutive checkpoints must be consistent
(RFC 9162 consistency proofs); a rewritten history fails even when its chain is intact, and
the rewrite is located between the last checkpointed position that still matches and the
first that does not.

Keys: ``<CHECKPOINTS.key_dir>/<service>.ed25519`` (PKCS#8 PEM, mode 0600) signs; the public
keys are listed in ``<key_dir>/public_keys.yml`` (``eldercare keys init`` creates both).
"""
from __future__ import annotations

import base64
import hashlib
import json
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
class HeldCheckpoint:
    """A checkpoint as it was found: the signed statement, and, when a witness received it over
    the wire, where its own event sat in the log then (position and chain hash). That hash
    seals the checkpoint event itself and is a stored hash at a known position: a rewrite or a
    deletion of the log's last events shows against it too. ``held_by`` names where it was found."""
    checkpoint: Checkpoint
    event_position: int | None = None
    event_hash: str | None = None
    held_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckpointFinding:
    ok: bool
    tree_size: int
    sealed_at: str
    problem: str | None = None
    first_bad_after: int | None = None   # the rewrite is after this position (an earlier good checkpoint)
    first_bad_from: int | None = None    # the first differing position lies in first_bad_from..first_bad_to
    first_bad_to: int | None = None
    held_by: tuple[str, ...] = ()
    truncated: bool = False              # the log ends before a position this checkpoint vouches for


def _held(item) -> HeldCheckpoint:
    return item if isinstance(item, HeldCheckpoint) else HeldCheckpoint(item)


def merge_held(items) -> list[HeldCheckpoint]:
    """One entry per (tree size, root) found anywhere, oldest first, with the event position
    and hash a witness recorded and every place that holds it. Witnesses that recorded the
    event differently keep an entry each, so that the one the log contradicts is reported."""
    groups: dict[tuple[int, str], list[HeldCheckpoint]] = {}
    for item in map(_held, items):
        group = groups.setdefault((item.checkpoint.tree_size, item.checkpoint.root_hash), [])
        event = (item.event_position, item.event_hash)
        for index, known in enumerate(group):
            if item.event_position is None or known.event_position is None \
                    or (known.event_position, known.event_hash) == event:
                group[index] = HeldCheckpoint(
                    known.checkpoint, known.event_position or item.event_position,
                    known.event_hash or item.event_hash,
                    known.held_by + tuple(w for w in item.held_by if w not in known.held_by))
                break
        else:
            group.append(item)
    return sorted((h for group in groups.values() for h in group),
                  key=lambda h: (h.checkpoint.tree_size, h.checkpoint.sealed_at))


def _where(low: int, high: int) -> str:
    return f"at position {high}" if low == high else f"at a position in {low}..{high}"


def check_log_against(leaves: list[bytes], checkpoints, public_keys: dict[str, dict]) -> list[CheckpointFinding]:
    """Each checkpoint (``Checkpoint`` or ``HeldCheckpoint``) against the live log's leaves,
    oldest first. Every checkpoint states the log's prefix up to a position (its tree size, and
    its event's position when a witness recorded it); the rewrite starts after the last
    position whose prefix still matches and at or before the first one that does not, so with
    a checkpoint after every relayed batch it is located to the batch, and exactly when the
    batch was one event. A log shorter than a sealed size was cut at its tail."""
    held = merge_held(checkpoints)
    tree, length = merkle.MerkleTree(leaves), len(leaves)
    signature = {id(h): signature_problem(h.checkpoint, public_keys) for h in held}
    marks: list[tuple[int, bool]] = []               # (prefix end, the live log still matches it)
    for h in held:
        size = h.checkpoint.tree_size
        if signature[id(h)] is None and size <= length:
            marks.append((size, tree.root(size).hex() == h.checkpoint.root_hash))
        if h.event_position is not None and h.event_hash and h.event_position <= length:
            marks.append((h.event_position, leaves[h.event_position - 1] == merkle.leaf_hash(bytes.fromhex(h.event_hash))))
    first_bad = min((end for end, good in marks if not good), default=None)
    last_good = max((end for end, good in marks if good and (first_bad is None or end < first_bad)), default=0)
    findings = []
    for previous, h in zip([None] + held[:-1], held):
        checkpoint, size = h.checkpoint, h.checkpoint.tree_size
        problem, located = signature[id(h)], None
        truncated = problem is None and (size > length or (h.event_position or 0) > length)
        if problem is None and size > length:
            problem = (f"the log has {length} events but {size} were sealed "
                       f"(events removed from the tail after position {length})")
        elif problem is None and tree.root(size).hex() != checkpoint.root_hash:
            located = (last_good + 1, first_bad)
            problem = (f"the first {size} events no longer produce the sealed root "
                       f"(history rewritten {_where(*located)}; events 1..{last_good} still match)")
        elif problem is None and h.event_position is not None and h.event_hash:
            if h.event_position > length:
                problem = (f"its checkpoint event at position {h.event_position} is gone: the log has {length} "
                           f"events (events removed from the tail after position {length})")
            elif leaves[h.event_position - 1] != merkle.leaf_hash(bytes.fromhex(h.event_hash)):
                located = (last_good + 1, first_bad)
                problem = (f"the log's hash at position {h.event_position} (this checkpoint's event) is not the "
                           f"one the witnesses received (history rewritten {_where(*located)}; "
                           f"events 1..{last_good} still match)")
        if problem is None and previous is not None and signature[id(previous)] is None \
                and previous.checkpoint.tree_size < size <= length:
            proof = tree.consistency_proof(previous.checkpoint.tree_size, size)
            if not merkle.verify_consistency(previous.checkpoint.tree_size, size, proof,
                                             bytes.fromhex(previous.checkpoint.root_hash),
                                             bytes.fromhex(checkpoint.root_hash)):
                problem = f"not consistent with the checkpoint of size {previous.checkpoint.tree_size}"
        findings.append(CheckpointFinding(problem is None, size, checkpoint.sealed_at, problem,
                                          None if problem is None else last_good,
                                          located and located[0], located and located[1], h.held_by, truncated))
    return findings


def last_checkpoint_position(conn) -> int:
    """Through the stream's (stream_id, sequence) index: one row read, whatever the log's size."""
    return conn.execute(select(events_table.c.position).where(events_table.c.stream_id == CHECKPOINT_STREAM)
                        .order_by(events_table.c.sequence.desc()).limit(1)).scalar() or 0


def own_checkpoints(engine: Engine) -> list[HeldCheckpoint]:
    """The checkpoints in the service's own log. Weaker than a witness's (whoever rewrites the
    log can delete them), but they are signed, and they seal what no witness received yet."""
    statement = (select(events_table.c.data).where(events_table.c.stream_id == CHECKPOINT_STREAM,
                                                   events_table.c.type == CHECKPOINT_EVENT)
                 .order_by(events_table.c.sequence))
    found = []
    with engine.connect() as conn:
        for data in conn.execute(statement).scalars():
            try:
                found.append(HeldCheckpoint(Checkpoint.from_dict(json.loads(data)), held_by=("own log",)))
            except (ValueError, KeyError, TypeError):
                continue        # not a checkpoint any more: the chain check reports the edit
    return found


class LogSealer:
    """Seals one log again and again at the cost of what was appended since the last seal: it
    keeps the compact Merkle range of the leaves it already read (a log is append-only), so a
    checkpoint after every relayed batch reads that batch's hashes, not the whole log."""

    def __init__(self, engine: Engine, store, signer: CheckpointSigner, clock):
        self.engine, self.store, self.signer, self.clock = engine, store, signer, clock
        self._range = merkle.CompactRange()

    def seal(self) -> Checkpoint | None:
        """Seal events 1..n (n = the log's head now) and append the checkpoint event to the log
        itself, so the relay publishes it to the witnesses. Nothing to seal → None."""
        from kernel.envelope import Actor, PendingEvent
        from kernel.uow import unit_of_work

        with self.engine.connect() as conn:
            head, sealed_through = self.store.last_position(conn), last_checkpoint_position(conn)
            if head == 0 or head == sealed_through:
                return None             # nothing new since the last checkpoint (or an empty log)
            if head < self._range.size:
                self._range = merkle.CompactRange()     # the log is shorter than what we read: start over
            self._range.extend(leaves_of(conn.execute(
                select(events_table.c.hash).where(events_table.c.position > self._range.size,
                                                  events_table.c.position <= head)
                .order_by(events_table.c.position)).scalars()))
        if self._range.size != head:
            self._range = merkle.CompactRange()
            raise RuntimeError(f"log positions 1..{head} are not gapless; not sealed (run `eldercare verify`)")
        sealed_at = self.clock.now().isoformat().replace("+00:00", "Z")
        checkpoint = self.signer.sign(head, self._range.root().hex(), sealed_at)
        with unit_of_work(self.engine, self.store, self.clock) as uow:
            version = uow.stream_version(CHECKPOINT_STREAM)
            uow.append([PendingEvent(stream_id=CHECKPOINT_STREAM, type=CHECKPOINT_EVENT, data=checkpoint.to_dict(),
                                     time=self.clock.now(), actor=Actor.system(self.signer.source),
                                     jurisdiction=NATIONAL)],
                       {CHECKPOINT_STREAM: version})
        return checkpoint


def seal_log(engine: Engine, store, signer: CheckpointSigner, clock) -> Checkpoint | None:
    """Seal once (reads the whole log; a long-running sealer keeps a ``LogSealer``)."""
    return LogSealer(engine, store, signer, clock).seal()


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
                "first_bad": self.first_bad, "checkpoints": [asdict(f) for f in self.findings]}

    @property
    def first_bad(self) -> dict | None:
        """Where the log first differs from what was sealed: the chain's own first bad position,
        else the range the checkpoints locate a rewrite to, else where a cut tail now ends."""
        if not self.chain.ok:
            return {"from": self.chain.first_bad_position, "to": self.chain.first_bad_position, "kind": "chain"}
        located = next((f for f in self.findings if f.first_bad_from is not None), None)
        if located is not None:
            return {"from": located.first_bad_from, "to": located.first_bad_to, "kind": "rewritten"}
        if any(f.truncated for f in self.findings):
            return {"from": self.chain.checked + 1, "to": self.chain.checked + 1, "kind": "truncated"}
        return None


def audit_log(source: str, engine: Engine, checkpoints, public_keys: dict[str, dict],
              own: bool = True) -> LogAudit:
    """The chain (edits, gaps, reordering) and every checkpoint found (truncation, a chain
    recomputed after an edit, forks between checkpoints): those given (``Checkpoint`` or
    ``HeldCheckpoint``, from the witnesses) and, with ``own``, those in the log itself."""
    from kernel.hashchain import verify_log
    hashes: list[str] = []
    chain = verify_log(engine, collect_hashes=hashes)
    # A broken chain stops the scan early; the checkpoints are then checked on the whole log.
    leaves = leaves_of(hashes) if chain.ok else log_leaves(engine)
    found = list(checkpoints) + (own_checkpoints(engine) if own else [])
    return LogAudit(source, chain, check_log_against(leaves, found, public_keys))

