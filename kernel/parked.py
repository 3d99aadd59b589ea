"""List and replay events parked in a consumer's dead-letter queue — by an operator
(``eldercare parked list|replay``) or by the consumer itself (``replay_due``).

A parked message may hold anything the broker carried: an envelope, JSON that is not an
object, bytes that are not JSON or not UTF-8, nothing at all. Listing describes each and
replaying moves each back byte for byte; neither assumes the body is an event."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import amqp
import kombu

from kernel.clock import utc_now
from kernel.envelope import parse_time
from kernel.topology import dead_letter_queue_name, parked_exchange_name

AUTO_REPLAYS = "x-auto-replays"      # how often the consumer itself has replayed the event
GIVEN_UP = "x-given-up"              # the consumer stopped replaying it: an operator must act


@dataclass(frozen=True)
class ParkedEvent:
    event_id: str
    event_type: str | None
    stream_id: str | None
    error_type: str
    error: str
    attempts: int
    parked_at: str
    retryable: bool = False
    auto_replays: int = 0
    given_up: bool = False
    body_note: str = ""              # what the body is when it is not an event envelope


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _wire(body) -> tuple[dict, str]:
    """The body as an envelope-shaped dict, or ``{}`` and a note on what it is instead."""
    if body is None or len(body) == 0:
        return {}, "empty body"
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return {}, f"{len(body)} bytes, not UTF-8"
    try:
        wire = json.loads(body)
    except ValueError:
        return {}, f"{len(body)} characters, not JSON"
    if not isinstance(wire, dict):
        return {}, f"JSON {type(wire).__name__}, not an object"
    return wire, ""


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _describe(message) -> ParkedEvent:
    headers = message.headers or {}
    wire, note = _wire(message.body)
    return ParkedEvent(event_id=str(message.properties.get("message_id", "") or _text(wire.get("id")) or ""),
                       event_type=_text(wire.get("type")), stream_id=_text(wire.get("subject")),
                       error_type=str(headers.get("x-error-type", "")), error=str(headers.get("x-error", "")),
                       attempts=_as_int(headers.get("x-attempts", 0)),
                       parked_at=str(headers.get("x-parked-at", "")),
                       retryable=headers.get("x-retryable") is True, auto_replays=_as_int(headers.get(AUTO_REPLAYS)),
                       given_up=headers.get(GIVEN_UP) is True, body_note=note)


def _drain(channel, queue_name: str):
    while (message := channel.basic_get(queue_name, no_ack=False)) is not None:
        yield message


def _republish(channel, message, routing_key: str, headers: dict, message_id: str) -> None:
    """The message's body as it was (bytes or text, any encoding), with ``headers``, through the
    consuming service's parking exchange (its queues are bound to it by name): its broker user
    may not publish to the default exchange."""
    properties = message.properties or {}
    channel.basic_publish_confirm(
        amqp.Message(message.body, content_type=properties.get("content_type") or "application/json",
                     content_encoding=properties.get("content_encoding") or "utf-8", delivery_mode=2,
                     message_id=message_id, application_headers=headers),
        exchange=parked_exchange_name(routing_key), routing_key=routing_key)


def list_parked(uri: str, queue_name: str) -> list[ParkedEvent]:
    """Browse without removing: messages are taken unacknowledged, then the channel is closed,
    which puts them back in their original order."""
    with kombu.Connection(uri, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            return [_describe(m) for m in _drain(channel, dead_letter_queue_name(queue_name))]
        finally:
            channel.close()


def replay_parked(uri: str, queue_name: str, event_ids: set[str] | None = None) -> list[str]:
    """Move parked events (all, or those named) back onto the consumer's queue; the inbox
    makes a replay of something already applied harmless. The consumer's own replay count
    starts again (an operator replays after fixing the cause)."""
    replayed = []
    with kombu.Connection(uri, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            for message in list(_drain(channel, dead_letter_queue_name(queue_name))):
                parked = _describe(message)
                if event_ids is not None and parked.event_id not in event_ids:
                    continue
                headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
                headers["x-replayed-from"] = dead_letter_queue_name(queue_name)
                _republish(channel, message, queue_name, headers, parked.event_id)
                channel.basic_ack(message.delivery_tag)
                replayed.append(parked.event_id)
        finally:
            channel.close()
    return replayed


def _parked_at(parked: ParkedEvent) -> datetime | None:
    try:
        return parse_time(parked.parked_at)
    except (TypeError, ValueError):
        return None


def replay_due(uri: str, queue_name: str, *, first_delay: float, max_replays: int,
               now: datetime | None = None) -> tuple[list[str], list[str]]:
    """The consumer's own healing: each parked event a handler failed on (``x-retryable``) goes
    back on the queue ``first_delay`` seconds after it was parked, then twice as long after the
    next park, and so on; one parked ``max_replays`` times already is marked given up and left
    parked. Refused events (malformed, schema, unknown type) are left for an operator.
    Returns the ids replayed and the ids given up by this call."""
    now = now or utc_now()
    replayed, given_up = [], []
    dead = dead_letter_queue_name(queue_name)
    with kombu.Connection(uri, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            for message in list(_drain(channel, dead)):
                parked = _describe(message)
                if not parked.retryable or parked.given_up:
                    continue                # closing the channel puts it back, in its place
                headers = dict(message.headers or {})
                if parked.auto_replays >= max_replays:
                    headers[GIVEN_UP] = True
                    _republish(channel, message, dead, headers, parked.event_id)
                    channel.basic_ack(message.delivery_tag)
                    given_up.append(parked.event_id)
                    continue
                parked_at = _parked_at(parked) or now
                if now < parked_at + timedelta(seconds=first_delay * 2 ** parked.auto_replays):
                    continue
                headers[AUTO_REPLAYS] = parked.auto_replays + 1
                headers["x-replayed-from"] = dead
                _republish(channel, message, queue_name, headers, parked.event_id)
                channel.basic_ack(message.delivery_tag)
                replayed.append(parked.event_id)
        finally:
            channel.close()
    return replayed, given_up
