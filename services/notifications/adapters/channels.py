"""Delivery channels behind one interface: ``send(address, message) -> detail`` or raise
``ChannelError``. Nothing here decides what to retry — the delivery domain does.

- ``SmsGateway``: a generic SMS gateway over HTTP (JSON POST to a configured URL).
- ``EmailChannel``: SMTP to a configured relay.
- ``WebhookChannel``: JSON POST to the party's own URL (its address).
- ``InboxChannel``: a row in ``inbox_messages`` that the gateway shows to the party.
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select
from sqlalchemy.engine import Engine

from kernel.clock import utc_now
from kernel.db import transaction
from kernel.envelope import format_time
from services.notifications.adapters.tables import inbox_messages


class ChannelError(Exception):
    """The channel did not take the message; the text says why (it goes into the event)."""


class ChannelNotConfigured(ChannelError):
    """The channel has no gateway in this deployment: said once at start (and by
    ``eldercare status``), so a delivery that fails for it is not worth a warning each time."""


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: str
    alert_id: str
    party: str
    subject: str
    body: str


class Channel(Protocol):
    name: str

    def send(self, address: str, message: OutgoingMessage) -> str: ...


def http_session(connections: int = 32) -> requests.Session:
    """One keep-alive session per channel, with room for the delivery round's concurrency."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=connections)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _post_json(session: requests.Session, url: str, payload: dict, timeout: float) -> str:
    try:
        response = session.post(url, json=payload, timeout=timeout)
    except requests.RequestException as exc:
        raise ChannelError(f"{url}: {type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
    return f"HTTP {response.status_code} {response.text[:200]}".strip()


class SmsGateway:
    """POSTs ``{"to", "text", "reference"}``; any 2xx is accepted (the gateway's answer is kept)."""

    name = "sms"

    def __init__(self, url: str | None, timeout: float = 5.0):
        self.url, self.timeout = url, timeout
        self._session = http_session()

    def send(self, address: str, message: OutgoingMessage) -> str:
        if not self.url:
            raise ChannelNotConfigured("no SMS gateway configured (NOTIFICATIONS.sms_gateway_url)")
        return _post_json(self._session, self.url, {"to": address, "text": f"{message.subject}\n{message.body}",
                                                    "reference": message.delivery_id}, self.timeout)


class WebhookChannel:
    name = "webhook"

    def __init__(self, timeout: float = 5.0):
        self.timeout = timeout
        self._session = http_session()

    def send(self, address: str, message: OutgoingMessage) -> str:
        return _post_json(self._session, address, {
            "delivery_id": message.delivery_id, "alert_id": message.alert_id, "party": message.party,
            "subject": message.subject, "body": message.body}, self.timeout)


class EmailChannel:
    name = "email"

    def __init__(self, host: str | None, port: int = 25, sender: str = "alerts@eldercare.local",
                 timeout: float = 10.0):
        self.host, self.port, self.sender, self.timeout = host, int(port), sender, timeout

    def send(self, address: str, message: OutgoingMessage) -> str:
        if not self.host:
            raise ChannelNotConfigured("no SMTP host configured (NOTIFICATIONS.smtp_host)")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, address, message.subject
        mail["X-Eldercare-Delivery"] = message.delivery_id
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                refused = smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"smtp {self.host}:{self.port}: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise ChannelError(f"smtp refused {', '.join(refused)}")
        return f"smtp {self.host}:{self.port} accepted"


class InboxChannel:
    """Writes the message where the gateway's inbox page reads it; once per delivery."""

    name = "inbox"

    def __init__(self, engine: Engine):
        self.engine = engine

    def send(self, address: str, message: OutgoingMessage) -> str:
        with transaction(self.engine) as conn:
            exists = conn.execute(select(inbox_messages.c.message_id)
                                  .where(inbox_messages.c.message_id == message.delivery_id)).first()
            if not exists:
                conn.execute(inbox_messages.insert().values(
                    message_id=message.delivery_id, party=address, alert_id=message.alert_id,
                    subject=message.subject[:255], body=message.body, created_at=format_time(utc_now())))
        return f"inbox of {address}"


class ChannelSet:
    """The configured channels by name; a channel not configured fails like any other."""

    def __init__(self, channels: list[Channel], unconfigured=()):
        self._by_name = {channel.name: channel for channel in channels}
        self.unconfigured = frozenset(unconfigured)     # names whose gateway is not configured

    def send(self, channel: str, address: str, message: OutgoingMessage) -> str:
        found = self._by_name.get(channel)
        if found is None:
            raise ChannelError(f"channel {channel!r} is not configured in this service")
        return found.send(address, message)


def unconfigured_channels(settings: dict) -> dict[str, str]:
    """Channels this deployment cannot use, with the setting that would enable each."""
    missing = {}
    if not settings.get("sms_gateway_url"):
        missing["sms"] = "SMS_GATEWAY_URL (NOTIFICATIONS.sms_gateway_url)"
    if not settings.get("smtp_host"):
        missing["email"] = "SMTP_HOST (NOTIFICATIONS.smtp_host)"
    return missing


def channels_from_config(settings: dict, engine: Engine) -> ChannelSet:
    timeout = float(settings.get("http_timeout_seconds", 5))
    return ChannelSet([
        SmsGateway(settings.get("sms_gateway_url") or None, timeout),
        WebhookChannel(timeout),
        EmailChannel(settings.get("smtp_host") or None, int(settings.get("smtp_port", 25)),
                     settings.get("mail_from", "alerts@eldercare.local"),
                     float(settings.get("smtp_timeout_seconds", 10))),
        InboxChannel(engine),
    ], unconfigured_channels(settings))
