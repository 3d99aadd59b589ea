"""Events are authenticated end to end: a consumer applies an event only once it has proved
that the event came from its source's log.

Anyone who can publish to a queue (a compromised service, a leaked broker password) could
otherwise write another service's history: a made-up ``elder_died`` would be applied. So:

- **The relay seals each batch it publishes.** The RFC 9162 Merkle root over the batch's
  message bodies as sent (``body_digest``: every attribute, the chain hash included) is signed with the
  source's Ed25519 key (the checkpoint key, ``kernel.checkpoints``). Each message carries
  the signature, the root and its own inclusion proof in one ``seal`` header (one string:
  ``1 <key id> <batch size> <index> <root> <signature> <proof>``, base64), so it can be
  checked alone, whichever consumer batch or queue it lands in. One signature per relay
  batch instead of one per event: a signature check costs about as much as applying an event.
- **The consumer checks every event before it applies it** (``EventAuthenticator.admit``):
  its source is the subscription's; its chain hash recomputes from its contents (for a type
  with personal fields the log hashed them sealed, so there the signed digest alone vouches for
  them); the event as received is in a batch signed by a key the public key list gives to that source
  (each root's signature is checked once, then remembered); and no other event was already
  applied at its place in its stream (``(stream, sequence)`` holding another id: a forked or
  rewritten log). An event that fails is parked with the reason, counted and logged as an
  error. The same event delivered again is not a failure: the inbox skips it.

Out-of-order delivery is legitimate (a parked event replayed later, an unroutable event
republished), and a queue sees only the types it is bound for, so gaps in positions and
sequences are not refused; a second, different event at an occupied place is.
"""
from __future__ import annotations

import base64
import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from kernel import merkle
from kernel.checkpoints import (DEFAULT_KEY_DIR, PUBLIC_KEYS_FILE, CheckpointKeyError, CheckpointSigner,
                                load_public_keys)
from kernel.config import repository_path, setting
from kernel.envelope import (SPEC_VERSION, Envelope, canonical_event_json, canonical_json, format_time,
                             sha256_hex)
from kernel.errors import EldercareError
from kernel.schema import inbox

log = structlog.get_logger(__name__)
SEAL_HEADER = "seal"        # not "x-…": those are parking metadata, dropped on replay
SEAL_VERSION = 1
# An unknown key id re-reads the public key list (a key added since start), at most this often.
KEY_LIST_RELOAD_SECONDS = 30.0
VERIFIED_ROOTS_KEPT = 4096

# Rejections since the process started, by (consumer queue, reason kind): the services'
# ping answers carry them and the gateway's /metrics exports them as a counter.
REJECTED: Counter = Counter()


class InauthenticEventError(EldercareError):
    """The event does not prove it came from its source's log; ``kind`` says which check failed."""

    code = "inauthentic_event"

    def __init__(self, kind: str, message: str):
        # The kind leads the text: it is what `eldercare parked list` shows of a rejection.
        super().__init__(f"{kind}: {message}", field="seal" if kind in ("unsigned", "key", "signature", "proof") else kind)
        self.kind = kind


def key_dir_of(config: dict) -> str:
    """``CHECKPOINTS.key_dir``, else ``$CHECKPOINT_KEY_DIR``, else ``var/keys``."""
    return setting(config, "CHECKPOINTS", "key_dir", None) or os.environ.get("CHECKPOINT_KEY_DIR") or DEFAULT_KEY_DIR


def batch_signed_text(source: str, size: int, root: bytes) -> bytes:
    return f"eldercare-relay-batch/v{SEAL_VERSION}\n{source}\n{size}\n{root.hex()}\n".encode()


class RelaySigner:
    """Seals the batches the outbox relay publishes, with the source's checkpoint key."""

    def __init__(self, signer: CheckpointSigner):
        self._signer = signer
        self.source, self.key_id = signer.source, signer.key_id

    @classmethod
    def from_key_dir(cls, source: str, key_dir: str) -> "RelaySigner":
        return cls(CheckpointSigner.from_key_dir(source, key_dir))

    def seal(self, messages: list) -> None:
        """Add the ``seal`` header to each message of one batch (amqp.Message, built by
        ``kernel.relay.to_message``), in the batch's order."""
        tree = merkle.MerkleTree([merkle.leaf_hash(body_digest(m.body)) for m in messages])
        root, size = tree.root(), len(messages)
        # The checkpoint key itself: one key per service, one public key list to check against.
        signature = base64.b64encode(self._signer._key.sign(batch_signed_text(self.source, size, root))).decode()
        prefix = f"{SEAL_VERSION} {self.key_id} {size} "
        suffix = f" {base64.b64encode(root).decode()} {signature} "
        for index, message in enumerate(messages):
            # One string, not a table: py-amqp encodes and decodes each header field in Python.
            message.properties.setdefault("application_headers", {})[SEAL_HEADER] = (
                prefix + str(index) + suffix + base64.b64encode(b"".join(tree.inclusion_proof(index))).decode())


def relay_signer_for(source: str, config: dict) -> RelaySigner | None:
    """The relay's signer, or None (logged as an error: consumers will park what it publishes)."""
    key_dir = key_dir_of(config)
    try:
        return RelaySigner.from_key_dir(source, key_dir)
    except CheckpointKeyError as exc:
        log.error("the relay has no signing key: its events go out unsigned and every consumer will "
                  "park them (create keys with `eldercare keys init`)", source=source, error=exc.message)
        return None


class PublicKeys:
    """The public key list (``<key_dir>/public_keys.yml``), re-read when an unknown key id
    turns up (at most every ``KEY_LIST_RELOAD_SECONDS``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._keys: dict[str, tuple[str, Ed25519PublicKey]] = {}
        self._loaded_at = float("-inf")

    @classmethod
    def of(cls, config: dict) -> "PublicKeys":
        return cls(repository_path(str(Path(key_dir_of(config)) / PUBLIC_KEYS_FILE)))

    def get(self, key_id: str) -> tuple[str, Ed25519PublicKey] | None:
        """(service, public key) of a listed key id, or None."""
        if key_id not in self._keys and time.monotonic() - self._loaded_at >= KEY_LIST_RELOAD_SECONDS:
            self._reload()
        return self._keys.get(key_id)

    def _reload(self) -> None:
        self._loaded_at = time.monotonic()
        try:
            listing = load_public_keys(self.path)
        except CheckpointKeyError as exc:
            log.error("cannot read the public key list: every event will be parked until it can be read",
                      path=str(self.path), error=exc.message)
            return
        keys = {}
        for key_id, entry in listing.items():
            try:
                keys[str(key_id)] = (str(entry["service"]),
                                     Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"])))
            except (KeyError, TypeError, ValueError) as exc:
                log.error("unusable entry in the public key list", path=str(self.path), key_id=key_id, error=str(exc))
        self._keys = keys


@dataclass
class Rejected:
    message: object
    envelope: Envelope
    error: InauthenticEventError


class EventAuthenticator:
    """Checks that events delivered to one consumer queue come from ``source``'s log."""

    def __init__(self, source: str, public_keys: PublicKeys, hashed_as_sent=lambda event_type: True):
        """``hashed_as_sent(type)``: False for a type with personal fields, whose chain hash
        covers the sealed values (``kernel.personal``) while the wire carries them open."""
        self.source, self.public_keys, self.hashed_as_sent = source, public_keys, hashed_as_sent
        self._verified_roots: set[tuple] = set()

    def admit(self, conn, consumer: str, delivered: list[tuple]) -> tuple[list[tuple], list[Rejected]]:
        """Split ``(message, envelope)`` pairs into those proved authentic (in order) and those
        rejected with the reason. ``conn`` reads the consumer's inbox."""
        admitted, rejected = [], []
        for message, envelope in delivered:
            try:
                self.check(envelope, (message.headers or {}).get(SEAL_HEADER), message.body)
                admitted.append((message, envelope))
            except InauthenticEventError as error:
                rejected.append(Rejected(message, envelope, error))
        if admitted:
            taken = self._places_taken(conn, consumer, [envelope for _, envelope in admitted])
            kept = []
            for message, envelope in admitted:
                holder = taken.get((envelope.subject, envelope.sequence))
                if holder is not None and holder != envelope.id:
                    rejected.append(Rejected(message, envelope, InauthenticEventError(
                        "sequence", f"sequence {envelope.sequence} of stream {envelope.subject} was already "
                                    f"applied as event {holder} (a forked or rewritten log)")))
                else:
                    taken.setdefault((envelope.subject, envelope.sequence), envelope.id)
                    kept.append((message, envelope))
            admitted = kept
        for item in rejected:
            _report(consumer, item)
        return admitted, rejected

    def check(self, envelope: Envelope, seal, body: bytes) -> None:
        """Raise ``InauthenticEventError`` unless the event is ``source``'s and in a batch it signed."""
        if envelope.source != self.source:
            raise InauthenticEventError("source", f"source is {envelope.source!r}; this queue takes "
                                                  f"{self.source!r} events only")
        if self.hashed_as_sent(envelope.type) and _recomputed_hash(envelope) != envelope.hash:
            raise InauthenticEventError("hash", "hash does not recompute from the event's contents "
                                                "(altered, or made up)")
        if isinstance(seal, bytes):
            seal = seal.decode("ascii", "replace")
        if not isinstance(seal, str):
            raise InauthenticEventError("unsigned", f"no {SEAL_HEADER!r} header: not published by "
                                                    f"{self.source}'s relay")
        try:
            version, key_id, size_text, index_text, root_text, signature_text, proof_text = seal.split(" ")
            if version != str(SEAL_VERSION):
                raise ValueError(f"seal version {version}")
            size, index = int(size_text), int(index_text)
            root, signature = base64.b64decode(root_text), base64.b64decode(signature_text)
            proof_bytes = base64.b64decode(proof_text)
        except (TypeError, ValueError) as exc:
            raise InauthenticEventError("unsigned", f"malformed {SEAL_HEADER!r} header: {exc!r}") from exc
        listed = self.public_keys.get(key_id)
        if listed is None:
            raise InauthenticEventError("key", f"signed with key {key_id}, which is not in the public key list")
        owner, public_key = listed
        if owner != self.source:
            raise InauthenticEventError("key", f"signed with key {key_id} of {owner}, not of {self.source}")
        verified = (key_id, size, root, signature)
        if verified not in self._verified_roots:
            try:
                public_key.verify(signature, batch_signed_text(self.source, size, root))
            except InvalidSignature:
                raise InauthenticEventError("signature", "the batch signature does not match "
                                                         "(altered or forged)") from None
            if len(self._verified_roots) >= VERIFIED_ROOTS_KEPT:
                self._verified_roots.clear()
            self._verified_roots.add(verified)
        proof = [proof_bytes[i:i + 32] for i in range(0, len(proof_bytes), 32)]
        if len(proof_bytes) % 32 or not merkle.verify_inclusion(index, size, merkle.leaf_hash(
                body_digest(body)), proof, root):
            raise InauthenticEventError("proof", "the event is not in the batch its seal signs "
                                                 "(a copy given another batch's seal)")

    @staticmethod
    def _places_taken(conn, consumer: str, envelopes: list[Envelope]) -> dict[tuple[str, int], str]:
        """The event id the consumer already applied at each (stream, sequence) of ``envelopes``.
        Two plain IN lists (the inbox index is (consumer, stream, sequence)), the cross product
        dropped here: a row-value IN was not planned onto the index (6 ms a batch on SQLite,
        24 ms on PostgreSQL, against the whole batch's 60 ms)."""
        places = {(e.subject, e.sequence) for e in envelopes}
        streams = sorted({stream for stream, _ in places})
        sequences = sorted({sequence for _, sequence in places})
        taken = {}
        for start in range(0, len(streams), 500):
            rows = conn.execute(select(inbox.c.stream_id, inbox.c.sequence, inbox.c.event_id).where(
                inbox.c.consumer == consumer, inbox.c.stream_id.in_(streams[start:start + 500]),
                inbox.c.sequence.in_(sequences)))
            taken.update({(stream, sequence): event_id for stream, sequence, event_id in rows
                          if (stream, sequence) in places})
        return taken


def body_digest(body) -> bytes:
    """SHA-256 of the message body, the event exactly as sent (its chain hash included): the
    leaf a relay batch's seal signs. Not the chain hash alone: an event with personal fields
    is hashed in the log with those values sealed, and travels with them open."""
    return hashlib.sha256(body if isinstance(body, bytes) else str(body).encode("utf-8")).digest()


def _recomputed_hash(envelope: Envelope) -> str:
    """The chain hash of the envelope's contents, assembled as the store hashes a row
    (``canonical_event_json``, cheaper than ``Envelope.compute_hash``). The two
    attributes it takes as constants must be those constants."""
    if envelope.specversion != SPEC_VERSION or envelope.datacontenttype != "application/json":
        return ""
    return sha256_hex(canonical_event_json(
        actor_json=canonical_json(envelope.actor.to_dict()), causation_id=envelope.causation_id,
        correlation_id=envelope.correlation_id, data_json=canonical_json(envelope.data), event_id=envelope.id,
        jurisdiction=envelope.jurisdiction, position=envelope.position, previous_hash=envelope.previous_hash,
        recorded_time=format_time(envelope.recorded_time), sequence=envelope.sequence, source=envelope.source,
        subject=envelope.subject, time=format_time(envelope.time), type_=envelope.type))


def _report(consumer: str, rejected: Rejected) -> None:
    envelope, error = rejected.envelope, rejected.error
    REJECTED[(consumer, error.kind)] += 1
    log.error("event rejected: not proved to come from its source's log; parked", queue=consumer,
              reason=error.kind, error=error.message, event_id=envelope.id, event_type=envelope.type,
              source=envelope.source, stream_id=envelope.subject, position=envelope.position,
              actor=envelope.actor.to_dict())


def rejected_counts() -> list[dict]:
    """What ``ping`` answers: rejections since the process started, by queue and reason."""
    return [{"queue": queue, "reason": reason, "count": count} for (queue, reason), count in sorted(REJECTED.items())]
