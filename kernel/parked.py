"""List and replay events parked in a consumer's dead-letter queue."""
from __future__ import annotations

import json
from dataclasses import dataclass

import amqp
import kombu

from kernel.topology import dead_letter_queue_name


@dataclass(frozen=True)
class ParkedEvent:
    event_id: str
    event_type: str | None
    stream_id: str | None
    error_type: str
    error: str
    attempts: int
    parked_at: str


def _describe(message) -> ParkedEvent:
    headers = message.headers or {}
    try:
        wire = json.loads(message.body)
    except ValueError:
        wire = {}
    return ParkedEvent(event_id=message.properties.get("message_id", "") or wire.get("id", ""),
                       event_type=wire.get("type"), stream_id=wire.get("subject"),
                       error_type=str(headers.get("x-error-type", "")), error=str(headers.get("x-error", "")),
                       attempts=int(headers.get("x-attempts", 0)), parked_at=str(headers.get("x-parked-at", "")))


def _drain(channel, queue_name: str):
    while (message := channel.basic_get(queue_name, no_ack=False)) is not None:
        yield message


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
    makes a replay of something already applied harmless."""
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
                channel.basic_publish_confirm(
                    amqp.Message(message.body, content_type="application/json", content_encoding="utf-8",
                                 delivery_mode=2, message_id=parked.event_id, application_headers=headers),
                    exchange="", routing_key=queue_name)
                channel.basic_ack(message.delivery_tag)
                replayed.append(parked.event_id)
        finally:
            channel.close()
    return replayed
