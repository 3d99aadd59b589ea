"""One delivery: a message to one party over its channels, in the party's order of
preference. Each attempt is recorded before the channel is called and its result after,
so a crash between the two is visible (the next attempt records the lost one as failed).
A failure retries the same channel with backoff, then falls back to the next channel;
when none is left the delivery has failed for good and the caller raises an alert.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from kernel.errors import CommandRejected, ConflictError, ValidationError

from .model import CHANNELS, ChannelAddress, is_aware
from .policy import RetryPolicy

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
NO_CHANNEL = "no contact channel on record for this party"


@dataclass(frozen=True)
class DeliveryCommand:
    delivery_id: str
    at: datetime


@dataclass(frozen=True)
class RequestDelivery(DeliveryCommand):
    alert_id: str
    party: str
    channels: tuple[ChannelAddress, ...]
    subject: str
    body: str


@dataclass(frozen=True)
class StartAttempt(DeliveryCommand):
    retry: RetryPolicy


@dataclass(frozen=True)
class RecordResult(DeliveryCommand):
    ok: bool
    detail: str | None
    retry: RetryPolicy


@dataclass(frozen=True)
class DeliveryEvent:
    delivery_id: str
    alert_id: str
    party: str


@dataclass(frozen=True)
class DeliveryRequested(DeliveryEvent):
    TYPE = "notifications.delivery_requested.v1"
    channels: tuple[ChannelAddress, ...]
    subject: str
    body: str
    requested_at: datetime


@dataclass(frozen=True)
class DeliveryAttempted(DeliveryEvent):
    TYPE = "notifications.delivery_attempted.v1"
    attempt: int
    channel: str
    address: str
    attempted_at: datetime


@dataclass(frozen=True)
class DeliverySucceeded(DeliveryEvent):
    TYPE = "notifications.delivery_succeeded.v1"
    attempt: int
    channel: str
    address: str
    detail: str | None
    delivered_at: datetime


@dataclass(frozen=True)
class DeliveryFailed(DeliveryEvent):
    TYPE = "notifications.delivery_failed.v1"
    attempt: int
    channel: str | None
    address: str | None
    error: str
    retry_at: datetime | None
    next_channel: str | None
    final: bool
    failed_at: datetime


DELIVERY_EVENT_CLASSES = (DeliveryRequested, DeliveryAttempted, DeliverySucceeded, DeliveryFailed)


@dataclass(frozen=True)
class DeliveryState:
    delivery_id: str
    version: int = 0
    status: str | None = None
    alert_id: str = ""
    party: str = ""
    channels: tuple[ChannelAddress, ...] = ()
    subject: str = ""
    body: str = ""
    channel_index: int = 0
    attempts: int = 0
    attempts_on_channel: int = 0
    in_flight: bool = False
    next_attempt_at: datetime | None = None
    last_error: str | None = None

    @property
    def exists(self) -> bool:
        return self.status is not None

    @property
    def channel(self) -> ChannelAddress | None:
        return self.channels[self.channel_index] if self.channel_index < len(self.channels) else None


def decide_delivery(state: DeliveryState, command: DeliveryCommand) -> list[DeliveryEvent]:
    if not is_aware(command.at):
        raise ValidationError({"at": ["must be a timezone-aware time"]})
    if isinstance(command, RequestDelivery):
        return _request(state, command)
    if state.status != PENDING:
        raise CommandRejected(f"delivery {state.delivery_id} is {state.status or 'unknown'}; nothing to attempt",
                              field="delivery_id")
    if isinstance(command, StartAttempt):
        if state.in_flight:
            # The previous attempt has no result: the process stopped mid-send. Count it failed.
            return [_failure(state, "no result was recorded for this attempt", command.at, command.retry)]
        if state.next_attempt_at is not None and command.at < state.next_attempt_at:
            return []
        channel = state.channel
        return [DeliveryAttempted(state.delivery_id, state.alert_id, state.party, attempt=state.attempts + 1,
                                  channel=channel.channel, address=channel.address, attempted_at=command.at)]
    if isinstance(command, RecordResult):
        if not state.in_flight:
            raise CommandRejected(f"delivery {state.delivery_id} has no attempt awaiting a result",
                                  field="delivery_id")
        if command.ok:
            channel = state.channel
            return [DeliverySucceeded(state.delivery_id, state.alert_id, state.party, attempt=state.attempts,
                                      channel=channel.channel, address=channel.address, detail=command.detail,
                                      delivered_at=command.at)]
        return [_failure(state, command.detail or "failed", command.at, command.retry)]
    raise TypeError(f"notifications has no delivery rule for {type(command).__name__}")


def _request(state: DeliveryState, command: RequestDelivery) -> list[DeliveryEvent]:
    if state.exists:
        raise ConflictError(f"delivery {state.delivery_id} already exists", field="delivery_id")
    unknown = [c.channel for c in command.channels if c.channel not in CHANNELS]
    if unknown:
        raise ValidationError({"channels": [f"unknown channel {unknown[0]!r}; known: {', '.join(CHANNELS)}"]})
    requested = DeliveryRequested(command.delivery_id, command.alert_id, command.party, channels=command.channels,
                                  subject=command.subject, body=command.body, requested_at=command.at)
    if command.channels:
        return [requested]
    return [requested, DeliveryFailed(command.delivery_id, command.alert_id, command.party, attempt=0,
                                      channel=None, address=None, error=NO_CHANNEL, retry_at=None,
                                      next_channel=None, final=True, failed_at=command.at)]


def _failure(state: DeliveryState, error: str, at: datetime, retry: RetryPolicy) -> DeliveryFailed:
    channel = state.channel
    retry_at, next_channel, final = None, None, False
    if state.attempts_on_channel < retry.attempts_per_channel:
        retry_at = at + timedelta(seconds=retry.backoff_after(state.attempts_on_channel))
    elif state.channel_index + 1 < len(state.channels):
        retry_at, next_channel = at, state.channels[state.channel_index + 1].channel   # fall back at once
    else:
        final = True
    return DeliveryFailed(state.delivery_id, state.alert_id, state.party, attempt=state.attempts,
                          channel=channel.channel, address=channel.address, error=error[:500], retry_at=retry_at,
                          next_channel=next_channel, final=final, failed_at=at)


def evolve_delivery(state: DeliveryState, event: DeliveryEvent) -> DeliveryState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, DeliveryRequested):
        return replace(state, status=PENDING, alert_id=event.alert_id, party=event.party, channels=event.channels,
                       subject=event.subject, body=event.body, next_attempt_at=event.requested_at)
    if isinstance(event, DeliveryAttempted):
        return replace(state, attempts=event.attempt, attempts_on_channel=state.attempts_on_channel + 1,
                       in_flight=True, next_attempt_at=None)
    if isinstance(event, DeliverySucceeded):
        return replace(state, status=DELIVERED, in_flight=False, next_attempt_at=None, last_error=None)
    if isinstance(event, DeliveryFailed):
        moved = event.next_channel is not None
        return replace(state, status=FAILED if event.final else PENDING, in_flight=False,
                       next_attempt_at=event.retry_at, last_error=event.error,
                       channel_index=state.channel_index + 1 if moved else state.channel_index,
                       attempts_on_channel=0 if moved else state.attempts_on_channel)
    raise TypeError(f"not a delivery event: {type(event).__name__}")


def fold_delivery(delivery_id: str, events) -> DeliveryState:
    state = DeliveryState(delivery_id)
    for event in events:
        state = evolve_delivery(state, event)
    return state
