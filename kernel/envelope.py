"""The event envelope: CloudEvents 1.0 attribute names plus this system's extensions.

An ``Envelope`` is what is stored, hashed, published and consumed. Its ``data`` is the
JSON-ready payload produced by the event's marshmallow schema (see ``kernel.catalogue``).
Two times: ``time`` is when the fact happened or takes effect; ``recorded_time`` is when
this system learned it. Folding "as of date D" uses the first, "what did we know on
date K" the second.
"""
from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
from dataclasses import dataclass, field, replace
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any

SPEC_VERSION = "1.0"
GENESIS_HASH = "0" * 64


@lru_cache(maxsize=4096)
def format_time(instant: datetime) -> str:
    """UTC ISO 8601 with microseconds and 'Z': one spelling, so hashes and string order agree."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: wire times must be timezone-aware UTC")
    if instant.tzinfo is not timezone.utc:
        instant = instant.astimezone(timezone.utc)
    # isoformat is several times faster than strftime and gives the same digits; the cache
    # serves the events of one command, which share their effective time.
    return instant.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


# Built once: json.dumps with non-default options builds a new encoder on every call.
_canonical_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, UTF-8 kept) — the form that is hashed."""
    return _canonical_encoder.encode(value)


def _scalar(value: str | None) -> str:
    # json's own C string encoder (the one json.dumps uses with ensure_ascii=False).
    return "null" if value is None else encode_basestring(value)


def canonical_event_json(*, actor_json: str, causation_id: str | None, correlation_id: str | None,
                         data_json: str, event_id: str, jurisdiction: str, position: int,
                         previous_hash: str, recorded_time: str, sequence: int, source: str,
                         subject: str, time: str, type_: str) -> str:
    """``canonical_json`` of an envelope (without ``hash``), assembled from parts already in
    canonical form — the stored column values. Byte-identical to ``canonical_json(
    envelope.hashable_dict())`` (a test holds them together); it exists because appending
    and verifying hash every event and re-serialising the payload each time dominated both."""
    enc = encode_basestring   # every field below but the two ids is always a string
    return (f'{{"actor":{actor_json},"causation_id":{_scalar(causation_id)},'
            f'"correlation_id":{_scalar(correlation_id)},"data":{data_json},'
            f'"datacontenttype":"application/json","id":{enc(event_id)},'
            f'"jurisdiction":{enc(jurisdiction)},"position":{position},'
            f'"previous_hash":{enc(previous_hash)},"recorded_time":{enc(recorded_time)},'
            f'"sequence":{sequence},"source":{enc(source)},"specversion":"1.0",'
            f'"subject":{enc(subject)},"time":{enc(time)},"type":{enc(type_)}}}')


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a department, a user in it, and the user's role."""

    department: str
    user: str
    role: str

    @classmethod
    def system(cls, service: str) -> "Actor":
        """The actor of events a service derives by itself (timers, policy)."""
        return cls(department="system", user=service, role="system")

    def to_dict(self) -> dict:
        return {"department": self.department, "user": self.user, "role": self.role}

    @classmethod
    def from_dict(cls, data: dict) -> "Actor":
        return cls(department=data["department"], user=data["user"], role=data["role"])


@dataclass(frozen=True)
class PendingEvent:
    """An event decided but not yet appended: no sequence, position or hash yet."""

    stream_id: str
    type: str
    data: dict
    time: datetime
    actor: Actor
    jurisdiction: str
    correlation_id: str | None = None
    causation_id: str | None = None
    id: str | None = None  # assigned at append unless given (e.g. in tests)


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    recorded_time: datetime
    sequence: int
    position: int
    actor: Actor
    jurisdiction: str
    data: dict
    correlation_id: str | None = None
    causation_id: str | None = None
    previous_hash: str = GENESIS_HASH
    hash: str = ""
    specversion: str = field(default=SPEC_VERSION)
    datacontenttype: str = field(default="application/json")

    @property
    def stream_id(self) -> str:
        return self.subject

    @property
    def county_code(self) -> str:
        """The 6-digit county part of the jurisdiction: the partition key for routing."""
        return (self.jurisdiction or "")[:6].ljust(6, "0")

    def hashable_dict(self) -> dict:
        """Every attribute except ``hash`` itself, in wire form."""
        wire = self.to_wire()
        wire.pop("hash")
        return wire

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.hashable_dict()).encode("utf-8")).hexdigest()

    def sealed(self) -> "Envelope":
        return replace(self, hash=self.compute_hash())

    def to_wire(self) -> dict:
        return {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": format_time(self.time),
            "recorded_time": format_time(self.recorded_time),
            "datacontenttype": self.datacontenttype,
            "sequence": self.sequence,
            "position": self.position,
            "actor": self.actor.to_dict(),
            "jurisdiction": self.jurisdiction,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "previous_hash": self.previous_hash,
            "hash": self.hash,
            "data": self.data,
        }

    @classmethod
    def from_wire(cls, wire: dict) -> "Envelope":
        try:
            return cls(
                specversion=wire["specversion"],
                id=wire["id"],
                source=wire["source"],
                type=wire["type"],
                subject=wire["subject"],
                time=parse_time(wire["time"]),
                recorded_time=parse_time(wire["recorded_time"]),
                datacontenttype=wire.get("datacontenttype", "application/json"),
                sequence=int(wire["sequence"]),
                position=int(wire["position"]),
                actor=Actor.from_dict(wire["actor"]),
                jurisdiction=wire["jurisdiction"],
                correlation_id=wire.get("correlation_id"),
                causation_id=wire.get("causation_id"),
                previous_hash=wire["previous_hash"],
                hash=wire["hash"],
                data=wire["data"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            from kernel.errors import ValidationError
            raise ValidationError({"envelope": [f"malformed event envelope: {exc!r}"]}) from exc


@dataclass(frozen=True)
class CommandMeta:
    """Who issued a command and within which call: stamped on every event it appends."""

    actor: Actor
    correlation_id: str | None = None
    causation_id: str | None = None
