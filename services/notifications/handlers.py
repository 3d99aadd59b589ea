"""Handlers: one unit of work each. Load the streams, let the domain decide, append the
events (projections follow in the same transaction).

Alerts and their deliveries are decided together: every party an alert is routed to gets a
``DeliveryRequested`` in the same transaction, so an alert can never be routed without a
message queued. Sending happens later, outside any transaction (``deliver_due``): the
attempt is recorded first, the channel called, the result recorded after — so replaying
the log or rebuilding a projection never sends anything twice.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import eventlet
import structlog
from kernel import personal
from sqlalchemy import and_, select, update

from kernel.catalogue import EventCatalogue
from kernel.clock import local_date_of
from kernel.envelope import Actor, CommandMeta, format_time
from kernel.logging import bind
from kernel.uow import UnitOfWork, retry_on_concurrency
from services.notifications.adapters.channels import ChannelError, ChannelSet, OutgoingMessage
from services.notifications.adapters.event_mapping import (event_from_envelope, jurisdiction_of_party,
                                                           party_stream, remember, to_pending)
from services.notifications.adapters.projections import read_streams
from services.notifications.adapters.tables import (alerts, deliveries, device_heartbeats, elder_contacts,
                                                    party_contacts, referrals)
from services.notifications.domain import (INFORMED, AlertRouted, AlertState, ChannelAddress, CreateReferral,
                                           DeliveryAttempted, DeliveryFailed, DeliveryState, EscalateAlert,
                                           MarkReferralOverdue, PartyContactsSet, RaiseAlert, RecordResult,
                                           ReferralState, RequestDelivery, RerouteAlert, RoutingBook, StartAttempt,
                                           carer_party, decide, decide_delivery, decide_referral, detect_silence,
                                           device_stream, evolve_all, fold, fold_delivery, fold_device,
                                           fold_referral, heard, receive_alarm, silence_is_too_long,
                                           supporter_party)
from services.notifications.domain import evolve_delivery, evolve_referral

log = structlog.get_logger(__name__)
SYSTEM_ACTOR = Actor.system("notifications")
SWEEP_PAGE = 500
# An attempt with no result after this long was lost (the process stopped mid-send).
LOST_ATTEMPT_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class NotificationsContext:
    """What every handler needs besides the unit of work."""

    catalogue: EventCatalogue
    book: RoutingBook


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def retrying(unit_of_work, work, what: str):
    """Run ``work(uow)`` in a unit of work, deciding again when a concurrent writer on the
    same stream committed first (``kernel.uow.retry_on_concurrency``)."""
    def run():
        with unit_of_work() as uow:
            return work(uow)
    bind(work=what)
    return retry_on_concurrency(run)


class _Appender:
    """Collects the events of one unit of work and appends them once (one lock, one round trip)."""

    def __init__(self, uow: UnitOfWork, ctx: NotificationsContext, meta: CommandMeta):
        self.uow, self.ctx, self.meta = uow, ctx, meta
        self.pending, self.expected, self.events = [], {}, []

    def add(self, events, jurisdiction: str, stream_id: str, version: int) -> None:
        if not events:
            return
        self.expected.setdefault(stream_id, version)
        self.events += events
        self.pending += [to_pending(e, self.ctx.catalogue, actor=self.meta.actor, jurisdiction=jurisdiction,
                                    correlation_id=self.meta.correlation_id, causation_id=self.meta.causation_id)
                         for e in events]

    def flush(self) -> None:
        if self.pending:
            # Remembered before the projections fold them, so nothing just decided is decoded again.
            remember(self.uow.append(self.pending, self.expected), self.events)
        self.pending, self.expected, self.events = [], {}, []


# --- loading --------------------------------------------------------------------------

def load_alert(uow: UnitOfWork, alert_id: str, catalogue: EventCatalogue) -> AlertState:
    return fold(alert_id, [event_from_envelope(e, catalogue) for e in uow.read_stream(alert_id)])


def load_alerts(conn, alert_ids, catalogue: EventCatalogue) -> list[AlertState]:
    return [fold(stream_id, [event_from_envelope(e, catalogue) for e in found])
            for stream_id, found in read_streams(conn, list(alert_ids)).items()]


def load_referral(uow: UnitOfWork, referral_id: str, catalogue: EventCatalogue) -> ReferralState:
    return fold_referral(referral_id, [event_from_envelope(e, catalogue) for e in uow.read_stream(referral_id)])


def open_alert_for(conn, incident_key: str) -> str | None:
    return conn.execute(select(alerts.c.alert_id).where(alerts.c.open_incident_key == incident_key)).scalar()


def family_of(conn, elder_id: str | None) -> tuple[str, ...]:
    """The family parties of an elder known from the registry: supporters and entrusted carer."""
    if not elder_id:
        return ()
    row = conn.execute(select(elder_contacts).where(elder_contacts.c.elder_id == elder_id)).first()
    if row is None:
        return ()
    parties = [supporter_party(elder_id, s["supporter_id"]) for s in json.loads(row.supporters)]
    return tuple(parties + ([carer_party(elder_id)] if row.carer else []))


def contacts_for(conn, party: str) -> tuple[ChannelAddress, ...]:
    """A party's channels, preferred first: set explicitly, or the family's phone from the registry."""
    row = conn.execute(select(party_contacts.c.channels).where(party_contacts.c.party == party)).first()
    if row is not None:
        return tuple(ChannelAddress(**item) for item in json.loads(row.channels))
    kind, _, rest = party.partition(":")
    if kind not in ("supporter", "carer"):
        return ()
    elder_id, _, supporter_id = rest.partition(":")
    found = conn.execute(select(elder_contacts).where(elder_contacts.c.elder_id == elder_id)).first()
    if found is None:
        return ()
    if kind == "carer":
        carer = json.loads(found.carer) if found.carer else None
        return (ChannelAddress("sms", carer["phone"]),) if carer and carer.get("phone") else ()
    phone = next((s.get("phone") for s in json.loads(found.supporters) if s["supporter_id"] == supporter_id), None)
    return (ChannelAddress("sms", phone),) if phone else ()


# --- alerts ---------------------------------------------------------------------------

def raise_alert(uow: UnitOfWork, ctx: NotificationsContext, command: RaiseAlert, meta: CommandMeta) -> AlertState:
    """Raise an alert, or count the incident again on the one already open for it."""
    existing = open_alert_for(uow.conn, command.incident_key)
    command = replace(command, alert_id=existing or command.alert_id, family=family_of(uow.conn, command.elder_id))
    bind(alert_id=command.alert_id, incident_key=command.incident_key)
    state = load_alert(uow, command.alert_id, ctx.catalogue)
    after = commit_alert_decisions(uow, ctx, meta, [(state, decide(state, command, ctx.book))], command.at)[0]
    log.info("alert repeated" if existing else "alert raised", alert_id=after.alert_id, kind=after.kind,
             incident_key=after.incident_key, level=after.level, division_code=after.division_code, occurrences=after.occurrences)
    return after


def answer_alert(uow: UnitOfWork, ctx: NotificationsContext, command, meta: CommandMeta) -> AlertState:
    """Acknowledge or close (no new routes, so no deliveries)."""
    bind(alert_id=command.alert_id)
    state = load_alert(uow, command.alert_id, ctx.catalogue)
    return commit_alert_decisions(uow, ctx, meta, [(state, decide(state, command, ctx.book))], command.at)[0]


def commit_alert_decisions(uow: UnitOfWork, ctx: NotificationsContext, meta: CommandMeta, decisions,
                           at: datetime) -> list[AlertState]:
    """Append the decided alert events and a delivery for every newly routed party, in one
    append. A party with no channel at all raises a ``contact_unreachable`` alert for the
    village committee — except for alerts of that kind, which would only loop."""
    appender, afters, unreachable = _Appender(uow, ctx, meta), [], []
    lookups = _Lookups(uow.conn, [state.elder_id for state, _events in decisions])
    for state, events in decisions:
        after = evolve_all(state, events)
        afters.append(after)
        appender.add(events, after.division_code, state.alert_id, state.version)
        for routed in (e for e in events if isinstance(e, AlertRouted)):
            for route in routed.routes:
                delivery = _request_delivery(lookups, after, route, at)
                appender.add(delivery, after.division_code, delivery[0].delivery_id, 0)
                if isinstance(delivery[-1], DeliveryFailed) and after.kind != "contact_unreachable":
                    unreachable.append((route.party, after, delivery[-1].delivery_id))
    appender.flush()
    for party, alert, delivery_id in unreachable:
        raise_unreachable(uow, ctx, meta, party, alert.alert_id, alert.kind, alert.division_code,
                          alert.elder_id, delivery_id, at)
    return afters


_UNREACHABLE_SAID: set[str] = set()


def raise_unreachable(uow, ctx, meta, party: str, alert_id: str, kind: str, division_code: str,
                      elder_id: str | None, delivery_id: str, at: datetime) -> AlertState:
    # Said once per party and process: the open contact_unreachable alert (one per party)
    # and ``eldercare status`` carry it from then on.
    (log.info if party in _UNREACHABLE_SAID else log.warning)(
        "no working channel for a party; alerting the village committee", party=party,
        alert_id=alert_id, delivery_id=delivery_id)
    _UNREACHABLE_SAID.add(party)
    return raise_alert(uow, ctx, RaiseAlert(
        new_id("al"), at, kind="contact_unreachable", incident_key=f"unreachable:{party}",
        division_code=division_code, severity="medium", elder_id=elder_id,
        summary=(f"{party} could not be reached on any channel about alert {alert_id} ({kind}). "
                 "Record a working phone, e-mail, webhook or inbox for it, and pass the message on."),
        cause_type="notifications.delivery_failed.v1", cause_id=delivery_id), meta)


class _Lookups:
    """Elder names and party contacts for one batch of decisions: one query for the names,
    one per distinct party (a sweep routes thousands of alerts to a few dozen parties)."""

    def __init__(self, conn, elder_ids):
        self.conn, self._contacts = conn, {}
        wanted = sorted({elder_id for elder_id in elder_ids if elder_id})
        self.names = dict(conn.execute(select(elder_contacts.c.elder_id, elder_contacts.c.name)
                                       .where(elder_contacts.c.elder_id.in_(wanted))).all()) if wanted else {}

    def contacts(self, party: str) -> tuple[ChannelAddress, ...]:
        if party not in self._contacts:
            self._contacts[party] = contacts_for(self.conn, party)
        return self._contacts[party]


def _request_delivery(lookups: _Lookups, alert: AlertState, route, at: datetime) -> list:
    subject, body = render_message(alert, route.party, route.role, lookups.names.get(alert.elder_id))
    delivery_id = new_id("dl")
    return decide_delivery(DeliveryState(delivery_id), RequestDelivery(
        delivery_id, at, alert_id=alert.alert_id, party=route.party, channels=lookups.contacts(route.party),
        subject=subject, body=body))


def render_message(alert: AlertState, party: str, role: str, name: str | None) -> tuple[str, str]:
    what = alert.kind.replace("_", " ")
    subject = f"[{alert.severity}] {what}: alert {alert.alert_id}"
    who = f"elder {name} ({alert.elder_id})" if name else (f"elder {alert.elder_id}" if alert.elder_id else "")
    lines = [alert.summary, f"Place: {alert.division_code}" + (f"; {who}" if who else "")]
    if role == INFORMED:
        lines.append("Please check on the elder now and tell the village committee what you find.")
    else:
        deadline = alert.ack_deadline.astimezone(_local_zone()).strftime("%Y-%m-%d %H:%M")
        lines.append(f"Acknowledge as {party} by {deadline} (local time), or it goes to the next level.")
    return subject, "\n".join(lines)


def _local_zone():
    from kernel.clock import DEFAULT_LOCAL_TIMEZONE
    return DEFAULT_LOCAL_TIMEZONE


# --- sweeps ---------------------------------------------------------------------------

def escalate_due(uow: UnitOfWork, ctx: NotificationsContext, now: datetime, meta: CommandMeta,
                 limit: int = SWEEP_PAGE) -> int:
    """Escalate one page of alerts whose acknowledgement deadline has passed. Returns how many."""
    due = uow.conn.execute(select(alerts.c.alert_id).where(alerts.c.ack_deadline <= format_time(now))
                           .order_by(alerts.c.ack_deadline).limit(limit)).scalars().all()
    if not due:
        return 0
    decisions = [(state, decide(state, EscalateAlert(state.alert_id, now), ctx.book))
                 for state in load_alerts(uow.conn, due, ctx.catalogue)]
    commit_alert_decisions(uow, ctx, meta, decisions, now)
    return sum(1 for _state, events in decisions if events)


def reroute_changed(uow: UnitOfWork, ctx: NotificationsContext, now: datetime, meta: CommandMeta,
                    limit: int = SWEEP_PAGE) -> int:
    """Re-route one page of alerts whose place now follows another policy version."""
    today = local_date_of(now)
    pairs = uow.conn.execute(select(alerts.c.division_code, alerts.c.policy_ref).distinct()
                             .where(alerts.c.status != "closed")).all()
    stale = [(division, ref) for division, ref in pairs if ctx.book.policy_for(division, today).ref != ref]
    ids: list[str] = []
    for division, ref in stale:
        ids += uow.conn.execute(select(alerts.c.alert_id).where(
            alerts.c.division_code == division, alerts.c.policy_ref == ref, alerts.c.status != "closed")
            .limit(limit - len(ids))).scalars().all()
        if len(ids) >= limit:
            break
    if not ids:
        return 0
    decisions = [(state, decide(state, RerouteAlert(state.alert_id, now, family=family_of(uow.conn, state.elder_id)),
                                ctx.book))
                 for state in load_alerts(uow.conn, ids, ctx.catalogue)]
    commit_alert_decisions(uow, ctx, meta, decisions, now)
    return sum(1 for _state, events in decisions if events)


def mark_overdue_referrals(uow: UnitOfWork, ctx: NotificationsContext, now: datetime, meta: CommandMeta,
                           limit: int = SWEEP_PAGE) -> int:
    today = local_date_of(now)
    due = uow.conn.execute(select(referrals.c.referral_id).where(
        referrals.c.status != "closed", referrals.c.overdue.is_(False),
        referrals.c.due_on < today.isoformat()).limit(limit)).scalars().all()
    appender = _Appender(uow, ctx, meta)
    for referral_id in due:
        state = load_referral(uow, referral_id, ctx.catalogue)
        events = decide_referral(state, MarkReferralOverdue(referral_id, now, "civil_affairs"))
        appender.add(events, state.division_code, referral_id, state.version)
    appender.flush()
    return len(due)


def detect_silent_devices(uow: UnitOfWork, ctx: NotificationsContext, now: datetime, meta: CommandMeta,
                          limit: int = SWEEP_PAGE) -> int:
    """Raise a ``heartbeat_missing`` alert for each device silent longer than its policy allows."""
    shortest = min(minutes for policy in ctx.book.policies for minutes in policy.heartbeat_allowance_minutes.values())
    rows = uow.conn.execute(select(device_heartbeats).where(
        device_heartbeats.c.missing_since.is_(None),
        device_heartbeats.c.last_seen_at < format_time(now - timedelta(minutes=shortest))).limit(limit)).all()
    found = 0
    for row in rows:
        last_seen = datetime.fromisoformat(row.last_seen_at.replace("Z", "+00:00"))
        allowance = ctx.book.policy_for(row.division_code, local_date_of(now)).heartbeat_allowance_minutes[row.device_kind]
        state = _device_state(uow, ctx, row.device_id)
        if state.missing_since is not None or not silence_is_too_long(last_seen, allowance, now):
            continue
        alert = raise_alert(uow, ctx, RaiseAlert(
            new_id("al"), now, kind="heartbeat_missing", incident_key=f"heartbeat:{row.device_id}",
            division_code=row.division_code, severity="high", elder_id=row.elder_id,
            summary=(f"{row.device_kind} {row.device_id} has not been heard since {row.last_seen_at} "
                     f"(allowed: {allowance} minutes). Check on the elder and the device."),
            cause_type="heartbeat", cause_id=row.device_id), meta)
        events = detect_silence(state, device_kind=row.device_kind, elder_id=row.elder_id,
                                division_code=row.division_code, last_seen_at=last_seen,
                                allowance_minutes=allowance, alert_id=alert.alert_id, at=now)
        appender = _Appender(uow, ctx, meta)
        appender.add(events, row.division_code, device_stream(row.device_id), state.version)
        appender.flush()
        uow.conn.execute(update(device_heartbeats).where(device_heartbeats.c.device_id == row.device_id)
                         .values(missing_since=row.last_seen_at))
        found += 1
    return found


# --- devices --------------------------------------------------------------------------

def _device_state(uow, ctx, device_id):
    stream = device_stream(device_id)
    return fold_device(device_id, [event_from_envelope(e, ctx.catalogue) for e in uow.read_stream(stream)])


def _seen(conn, device_id: str, device_kind: str, elder_id, division_code: str, at: datetime) -> None:
    values = dict(device_kind=device_kind, elder_id=elder_id, division_code=division_code,
                  last_seen_at=format_time(at), missing_since=None)
    updated = conn.execute(update(device_heartbeats).where(device_heartbeats.c.device_id == device_id).values(**values))
    if updated.rowcount == 0:
        conn.execute(device_heartbeats.insert().values(device_id=device_id, **values))


def record_heartbeat(uow: UnitOfWork, ctx: NotificationsContext, heartbeat: dict, meta: CommandMeta) -> bool:
    """Returns True when the device had been reported silent (and is now heard again)."""
    bind(device_id=heartbeat["device_id"])
    state = _device_state(uow, ctx, heartbeat["device_id"])
    events = heard(state, heartbeat["at"])
    appender = _Appender(uow, ctx, meta)
    appender.add(events, heartbeat["division_code"], device_stream(heartbeat["device_id"]), state.version)
    appender.flush()
    _seen(uow.conn, heartbeat["device_id"], heartbeat["device_kind"], heartbeat["elder_id"],
          heartbeat["division_code"], heartbeat["at"])
    return bool(events)


ALARM_SEVERITY = {"one_key_call": "critical", "bracelet_sos": "critical", "bracelet_fall": "critical",
                  "smoke_alarm": "critical", "pill_missed": "medium"}


def receive_device_alarm(uow: UnitOfWork, ctx: NotificationsContext, alarm: dict, meta: CommandMeta) -> AlertState:
    bind(device_id=alarm["device_id"])
    state = _device_state(uow, ctx, alarm["device_id"])
    # Refuse a malformed alarm before anything is written (the alert is decided after).
    receive_alarm(state, device_kind=alarm["device_kind"], alarm=alarm["alarm"], elder_id=alarm["elder_id"],
                  division_code=alarm["division_code"], alert_id="-", at=alarm["occurred_at"])
    alert = raise_alert(uow, ctx, RaiseAlert(
        new_id("al"), alarm["received_at"], kind=alarm["alarm"],
        incident_key=f"device:{alarm['device_id']}:{alarm['alarm']}", division_code=alarm["division_code"],
        severity=ALARM_SEVERITY[alarm["alarm"]], elder_id=alarm["elder_id"],
        summary=(f"{alarm['alarm'].replace('_', ' ')} from {alarm['device_kind']} {alarm['device_id']} at "
                 f"{format_time(alarm['occurred_at'])}" + (f": {alarm['detail']}" if alarm.get("detail") else "")),
        cause_type="device_alarm", cause_id=alarm["device_id"]), meta)
    events = receive_alarm(state, device_kind=alarm["device_kind"], alarm=alarm["alarm"], elder_id=alarm["elder_id"],
                           division_code=alarm["division_code"], alert_id=alert.alert_id, at=alarm["occurred_at"])
    appender = _Appender(uow, ctx, meta)
    appender.add(events, alarm["division_code"], device_stream(alarm["device_id"]), state.version)
    appender.flush()
    _seen(uow.conn, alarm["device_id"], alarm["device_kind"], alarm["elder_id"], alarm["division_code"],
          alarm["occurred_at"])
    return alert


# --- parties and referrals ------------------------------------------------------------

def set_party_contacts(uow: UnitOfWork, ctx: NotificationsContext, party: str, channels, at: datetime,
                       meta: CommandMeta) -> None:
    stream = party_stream(party)
    event = PartyContactsSet(party=party, channels=tuple(channels), set_at=at)
    appender = _Appender(uow, ctx, meta)
    appender.add([event], jurisdiction_of_party(party, "0" * 12), stream, uow.stream_version(stream))
    appender.flush()


def referral_command(uow: UnitOfWork, ctx: NotificationsContext, command, meta: CommandMeta) -> ReferralState:
    bind(referral_id=command.referral_id)
    if isinstance(command, CreateReferral) and command.due_on is None:
        policy = ctx.book.policy_for(command.division_code, local_date_of(command.at))
        command = replace(command, due_on=local_date_of(command.at) + timedelta(days=policy.referral_due_days))
    state = load_referral(uow, command.referral_id, ctx.catalogue)
    events = decide_referral(state, command)
    after = state
    for event in events:
        after = evolve_referral(after, event)
    appender = _Appender(uow, ctx, meta)
    appender.add(events, after.division_code, command.referral_id, state.version)
    appender.flush()
    return after


def referral_step_for_case(uow: UnitOfWork, ctx: NotificationsContext, envelope, meta: CommandMeta) -> None:
    """A case opened from a referral accepts it (if not yet) and records the case as the
    action taken; the case's closure settles the referral with its outcome. Both as the
    department that owns the case, which the referral was sent to."""
    from services.notifications.domain.referrals import (CREATED, AcceptReferral, RecordReferralAction,
                                                         SettleReferral)
    from services.notifications.intake import CASE_TO_REFERRAL_OUTCOME
    data = envelope.data
    referral_id, department, at = data["referral_id"], data["department"], uow.now()
    if envelope.type == "departments.case_opened.v1":
        if load_referral(uow, referral_id, ctx.catalogue).status == CREATED:
            referral_command(uow, ctx, AcceptReferral(referral_id, at, department,
                                                      note=f"立案 {data['case_id']}"), meta)
        referral_command(uow, ctx, RecordReferralAction(referral_id, at, department, action=(
            f"立案：案件 {data['case_id']}（{data['kind']}，{data['effective_date']}）")), meta)
    elif envelope.type == "departments.case_closed.v1":
        outcome = CASE_TO_REFERRAL_OUTCOME.get(data["outcome"], "resolved")
        referral_command(uow, ctx, SettleReferral(referral_id, at, department, outcome=outcome, note=(
            f"案件 {data['case_id']} 结案：{data['outcome']}（{data['effective_date']}）")), meta)


# --- deliveries -----------------------------------------------------------------------

def start_due_attempts(uow: UnitOfWork, ctx: NotificationsContext, now: datetime, meta: CommandMeta,
                       limit: int) -> list[tuple[DeliveryAttempted, object]]:
    """Record an attempt for each delivery due now (and a failure for each attempt lost
    mid-send). Returns the attempts to make, each with its message."""
    due = uow.conn.execute(select(deliveries.c.delivery_id).where(and_(
        deliveries.c.status == "pending", deliveries.c.in_flight.is_(False),
        deliveries.c.next_attempt_at <= format_time(now))).order_by(deliveries.c.next_attempt_at)
        .limit(limit)).scalars().all()
    lost = uow.conn.execute(select(deliveries.c.delivery_id).where(
        deliveries.c.status == "pending", deliveries.c.in_flight.is_(True)).limit(limit)).scalars().all()
    appender, attempts = _Appender(uow, ctx, meta), []
    streams = read_streams(uow.conn, list(due) + list(lost))
    for delivery_id, found in streams.items():
        state = fold_delivery(delivery_id, [event_from_envelope(e, ctx.catalogue) for e in found])
        last_time = found[-1].time
        if delivery_id in lost and now - last_time < LOST_ATTEMPT_AFTER:
            continue        # still being sent by another worker, most likely
        retry = ctx.book.policy_for(found[0].jurisdiction, local_date_of(now)).retry
        events = decide_delivery(state, StartAttempt(delivery_id, now, retry))
        appender.add(events, found[0].jurisdiction, delivery_id, state.version)
        for event in events:
            state = evolve_delivery(state, event)
        attempts += [(e, OutgoingMessage(delivery_id, state.alert_id, state.party, state.subject, state.body))
                     for e in events if isinstance(e, DeliveryAttempted)]
    appender.flush()
    return attempts


def send_all(channels: ChannelSet, attempts, concurrency: int = 20) -> list[tuple[str, bool, str]]:
    """Call each attempt's channel, several at a time; never raises for a channel failure."""
    def send(item):
        attempt, message = item
        try:
            return attempt.delivery_id, True, channels.send(attempt.channel, attempt.address, message)
        except ChannelError as exc:
            return attempt.delivery_id, False, str(exc)
        except Exception as exc:  # noqa: BLE001 - a channel bug must not lose the other results
            log.exception("delivery channel raised unexpectedly", channel=attempt.channel,
                          delivery_id=attempt.delivery_id)
            return attempt.delivery_id, False, f"{type(exc).__name__}: {exc}"
    return list(eventlet.GreenPool(max(1, concurrency)).imap(send, attempts))


def record_results(uow: UnitOfWork, ctx: NotificationsContext, results, now: datetime, meta: CommandMeta,
                   unconfigured: frozenset[str] = frozenset()) -> dict:
    """Record each channel's answer; a delivery out of channels alerts the village committee.
    A failure on an ``unconfigured`` channel (no SMS gateway) was said once at start, so it is
    not a warning each time."""
    appender, counts, exhausted = _Appender(uow, ctx, meta), {"succeeded": 0, "failed": 0, "final": 0}, []
    streams = read_streams(uow.conn, [delivery_id for delivery_id, _ok, _detail in results])
    answers = {delivery_id: (ok, detail) for delivery_id, ok, detail in results}
    for delivery_id, found in streams.items():
        state = fold_delivery(delivery_id, [event_from_envelope(e, ctx.catalogue) for e in found])
        ok, detail = answers[delivery_id]
        retry = ctx.book.policy_for(found[0].jurisdiction, local_date_of(now)).retry
        events = decide_delivery(state, RecordResult(delivery_id, now, ok, detail, retry))
        appender.add(events, found[0].jurisdiction, delivery_id, state.version)
        counts["succeeded" if ok else "failed"] += 1
        if not ok and state.channel.channel in unconfigured:
            log.debug("delivery attempt failed: channel not configured (said at start)", delivery_id=delivery_id,
                      party=state.party, channel=state.channel.channel, final=events[-1].final)
        elif not ok:
            log.warning("delivery attempt failed", delivery_id=delivery_id, party=state.party,
                        channel=state.channel.channel, error=detail, final=events[-1].final,
                        retry_at=format_time(events[-1].retry_at) if events[-1].retry_at else None)
        if events and isinstance(events[-1], DeliveryFailed) and events[-1].final:
            counts["final"] += 1
            # A party whose every channel lacks a gateway here (family by SMS, no SMS gateway)
            # needs no record from the village committee: the deployment is what is missing,
            # said at start and by ``eldercare status``, not once per party as an alert.
            if not all(address.channel in unconfigured for address in state.channels):
                exhausted.append((state, found[0].jurisdiction))
    appender.flush()
    for state, jurisdiction in exhausted:
        alert = uow.conn.execute(select(alerts.c.kind, alerts.c.elder_id).where(
            alerts.c.alert_id == state.alert_id)).first()
        if alert is not None and alert.kind != "contact_unreachable":
            raise_unreachable(uow, ctx, meta, state.party, state.alert_id, alert.kind, jurisdiction,
                              alert.elder_id, state.delivery_id, now)
    return counts


def deliver_due(unit_of_work, ctx: NotificationsContext, channels: ChannelSet, now_fn, meta: CommandMeta,
                limit: int = 200, concurrency: int = 20) -> dict:
    """One round: record the due attempts, send them (outside any transaction), record results."""
    attempts = retrying(unit_of_work, lambda uow: start_due_attempts(uow, ctx, now_fn(), meta, limit),
                        "start delivery attempts")
    if not attempts:
        return {"attempted": 0, "succeeded": 0, "failed": 0, "final": 0}
    results = send_all(channels, attempts, concurrency)
    counts = retrying(unit_of_work, lambda uow: record_results(uow, ctx, results, now_fn(), meta, channels.unconfigured),
                      "record delivery results")
    return {"attempted": len(attempts), **counts}


# --- elders, from the registry's events -------------------------------------------------

def drop_personal_copies(conn, envelope) -> None:
    """The elder's personal data was erased: destroy this service's keys for the elder and
    their family parties (the deliveries to them in this log read ``[erased]``) and drop the
    copy of their name and family contacts."""
    elder_id = envelope.data["elder_id"]
    parties = [f"party:{party}" for party in family_of(conn, elder_id)]
    personal.erase_copies(conn, envelope, [
        update(elder_contacts).where(elder_contacts.c.elder_id == elder_id)
        .values(name=personal.ERASED, supporters="[]", carer=None)], parties)


def apply_registry_fact(conn, event_type: str, data: dict) -> None:
    """Keep this service's copy of an elder's name, place and family contacts."""
    elder_id = data["elder_id"]
    if event_type == "registry.elder_registered.v1":
        conn.execute(elder_contacts.delete().where(elder_contacts.c.elder_id == elder_id))
        conn.execute(elder_contacts.insert().values(
            elder_id=elder_id, name=data["name"], division_code=data["division_code"], active=True,
            supporters=json.dumps([{"supporter_id": s["supporter_id"], "name": s["name"], "phone": s.get("phone")}
                                   for s in data["supporters"]], ensure_ascii=False),
            carer=json.dumps(data["carer"], ensure_ascii=False) if data.get("carer") else None))
        return
    row = conn.execute(select(elder_contacts).where(elder_contacts.c.elder_id == elder_id)).first()
    if row is None:
        return          # registered before this service listened; nothing to keep up to date
    changes = {}
    if event_type == "registry.supporter_left.v1":
        supporters = [s for s in json.loads(row.supporters) if s["supporter_id"] != data["supporter_id"]]
        previous = next((s for s in json.loads(row.supporters) if s["supporter_id"] == data["supporter_id"]), {})
        supporters.append({"supporter_id": data["supporter_id"], "name": data["name"],
                           "phone": data.get("phone") or previous.get("phone")})
        changes["supporters"] = json.dumps(supporters, ensure_ascii=False)
    elif event_type == "registry.carer_entrusted.v1":
        changes["carer"] = json.dumps(data["carer"], ensure_ascii=False)
    elif event_type == "registry.elder_moved.v1":
        changes["division_code"] = data["division_code"]
    elif event_type == "registry.elder_died.v1":
        changes["active"] = False
    elif event_type == "registry.elder_details_corrected.v1" and "name" in data["changes"]:
        changes["name"] = data["changes"]["name"]
    if changes:
        conn.execute(update(elder_contacts).where(elder_contacts.c.elder_id == elder_id).values(**changes))


