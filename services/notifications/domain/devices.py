"""Smart devices of hard-up elders (one-key call buttons, bracelets, smoke alarms, pill
boxes; DOMAIN.md §4): alarms they raise, and silence longer than their policy allows.

Heartbeats themselves are not events (one a minute per device would swamp the log with
facts nobody audits); only the transitions are: an alarm, a device gone silent, a silent
device heard again.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from kernel.divisions import is_division_code
from kernel.errors import ValidationError

from .model import ALARMS_OF_DEVICE, DEVICE_KINDS, is_aware


def device_stream(device_id: str) -> str:
    return f"device:{device_id}"


@dataclass(frozen=True)
class DeviceAlarmReceived:
    TYPE = "notifications.device_alarm_received.v1"
    device_id: str
    device_kind: str
    alarm: str
    elder_id: str | None
    division_code: str
    alert_id: str
    occurred_at: datetime


@dataclass(frozen=True)
class HeartbeatMissing:
    TYPE = "notifications.heartbeat_missing.v1"
    device_id: str
    device_kind: str
    elder_id: str | None
    division_code: str
    last_seen_at: datetime
    allowance_minutes: int
    alert_id: str
    detected_at: datetime


@dataclass(frozen=True)
class HeartbeatResumed:
    TYPE = "notifications.heartbeat_resumed.v1"
    device_id: str
    missing_since: datetime
    resumed_at: datetime


DEVICE_EVENT_CLASSES = (DeviceAlarmReceived, HeartbeatMissing, HeartbeatResumed)


@dataclass(frozen=True)
class DeviceState:
    device_id: str
    version: int = 0
    missing_since: datetime | None = None


def receive_alarm(state: DeviceState, *, device_kind: str, alarm: str, elder_id: str | None,
                  division_code: str, alert_id: str, at: datetime) -> list:
    """An alarm proves the device is alive, so a silent device is heard again too."""
    problems = {
        "device_kind": [] if device_kind in DEVICE_KINDS else [f"must be one of {', '.join(DEVICE_KINDS)}"],
        "division_code": [] if is_division_code(division_code) else ["must be a 12-digit division code"],
        "occurred_at": [] if is_aware(at) else ["must be a timezone-aware time"],
    }
    if not problems["device_kind"] and alarm not in ALARMS_OF_DEVICE[device_kind]:
        problems["alarm"] = [f"a {device_kind} raises {', '.join(ALARMS_OF_DEVICE[device_kind])}, not {alarm!r}"]
    problems = {name: messages for name, messages in problems.items() if messages}
    if problems:
        raise ValidationError(problems)
    return [DeviceAlarmReceived(state.device_id, device_kind, alarm, elder_id, division_code, alert_id, at)
            ] + heard(state, at)


def heard(state: DeviceState, at: datetime) -> list:
    if state.missing_since is None:
        return []
    return [HeartbeatResumed(state.device_id, missing_since=state.missing_since, resumed_at=at)]


def silence_is_too_long(last_seen_at: datetime, allowance_minutes: int, now: datetime) -> bool:
    return now - last_seen_at > timedelta(minutes=allowance_minutes)


def detect_silence(state: DeviceState, *, device_kind: str, elder_id: str | None, division_code: str,
                   last_seen_at: datetime, allowance_minutes: int, alert_id: str, at: datetime) -> list:
    if state.missing_since is not None or not silence_is_too_long(last_seen_at, allowance_minutes, at):
        return []
    return [HeartbeatMissing(state.device_id, device_kind, elder_id, division_code, last_seen_at,
                             allowance_minutes, alert_id, at)]


def evolve_device(state: DeviceState, event) -> DeviceState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, HeartbeatMissing):
        return replace(state, missing_since=event.last_seen_at)
    if isinstance(event, HeartbeatResumed):
        return replace(state, missing_since=None)
    return state


def fold_device(device_id: str, events) -> DeviceState:
    state = DeviceState(device_id)
    for event in events:
        state = evolve_device(state, event)
    return state


@dataclass(frozen=True)
class PartyContactsSet:
    """A party's contact channels, in order of preference (the party stream ``party:<party>``)."""

    TYPE = "notifications.party_contacts_set.v1"
    party: str
    channels: tuple
    set_at: datetime
