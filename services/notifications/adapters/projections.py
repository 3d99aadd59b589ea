"""Read models of the notifications log: the alert board (with each alert's routes), the
delivery queue, the referral ledger and the party contact directory. Each is rewritten
from the folded stream whenever the stream grows — one query reads every stream a page
touches — and is rebuildable from the log (``eldercare rebuild notifications``)."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from kernel.catalogue import EventCatalogue
from kernel.db import insert_many
from kernel.envelope import Envelope, format_time
from kernel.schema import events as events_table
from kernel.store import EVENT_COLUMNS, envelope_from_row
from services.notifications.adapters.event_mapping import event_from_envelope
from services.notifications.adapters.tables import (alert_counts, alert_department_counts, alert_routes, alerts,
                                                    deliveries, party_contacts, referrals)
from services.notifications.domain import (ALERT_EVENT_CLASSES, CLOSED, DELIVERY_EVENT_CLASSES, OPEN,
                                           REFERRAL_EVENT_CLASSES, AlertState, DeliveryState, PartyContactsSet,
                                           ReferralState, fold, fold_delivery, fold_referral)
from services.notifications.domain.model import party_department


def _time(value) -> str | None:
    return format_time(value) if value is not None else None


def read_streams(conn: Connection, stream_ids: Sequence[str], up_to: dict[str, int] | None = None) -> dict[str, list]:
    """Every envelope of ``stream_ids`` (each up to its sequence in ``up_to``), per stream in
    sequence order: one query for a page of streams."""
    result: dict[str, list] = {stream_id: [] for stream_id in stream_ids}
    for start in range(0, len(stream_ids), 500):
        chunk = list(stream_ids[start:start + 500])
        statement = (select(*EVENT_COLUMNS).where(events_table.c.stream_id.in_(chunk))
                     .order_by(events_table.c.stream_id, events_table.c.sequence))
        for row in conn.execute(statement):
            envelope = envelope_from_row(row, conn)
            if up_to is None or envelope.sequence <= up_to.get(envelope.subject, envelope.sequence):
                result[envelope.subject].append(envelope)
    return result


class _FoldedRows:
    """Rewrites one row (or a few) per touched stream from the folded stream."""

    name: str
    handles: frozenset[str]
    key_table = None

    def __init__(self, catalogue: EventCatalogue):
        self.catalogue = catalogue

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        self.apply_many(conn, [envelope])

    def apply_many(self, conn: Connection, envelopes) -> None:
        last: dict[str, int] = {}
        for envelope in envelopes:
            last[envelope.subject] = envelope.sequence
        streams = read_streams(conn, list(last), last)
        states = [self.fold(stream_id, [event_from_envelope(e, self.catalogue) for e in found])
                  for stream_id, found in streams.items()]
        self.rewrite(conn, states)

    fold: Callable
    def rewrite(self, conn: Connection, states) -> None: ...


def add_counts(conn: Connection, table, keys: tuple[str, str], changes: Counter) -> None:
    """Add ``changes`` (key values → alerts) to the count rows (made on first use). Every
    writer of a projection holds the log's append lock, so update-then-insert cannot race.
    A row back at zero is deleted, so the rows do not depend on how events were batched: a
    replay nets +1 and -1 in one batch and never makes the row."""
    for key, change in changes.items():
        if not change:
            continue
        where = [table.c[name] == value for name, value in zip(keys, key)]
        if conn.execute(update(table).where(*where).values(alerts=table.c.alerts + change)).rowcount == 0:
            conn.execute(insert(table), {**dict(zip(keys, key)), "alerts": change})
        elif change < 0:
            conn.execute(delete(table).where(*where, table.c.alerts == 0))


class AlertBoard(_FoldedRows):
    """Alerts with their routes, and the dashboard's counts per village: alerts by status,
    and alerts not closed by each department they are routed to."""

    name = "alert_board"
    handles = frozenset(cls.TYPE for cls in ALERT_EVENT_CLASSES)
    _delete = delete(alerts).where(alerts.c.alert_id.in_(bindparam("ids", expanding=True)))
    _delete_routes = delete(alert_routes).where(alert_routes.c.alert_id.in_(bindparam("ids", expanding=True)))
    _before = select(alerts.c.alert_id, alerts.c.division_code, alerts.c.status).where(
        alerts.c.alert_id.in_(bindparam("ids", expanding=True)))
    _routes_before = select(alert_routes.c.alert_id, alert_routes.c.party).where(
        alert_routes.c.alert_id.in_(bindparam("ids", expanding=True)))

    def fold(self, stream_id, events) -> AlertState:
        return fold(stream_id, events)

    def tables(self):
        return [alerts, alert_routes, alert_counts, alert_department_counts]

    def rewrite(self, conn, states) -> None:
        ids = [s.alert_id for s in states]
        by_status, by_department = Counter(), Counter()
        before = {row.alert_id: row for row in conn.execute(self._before, {"ids": ids})}
        for row in before.values():
            by_status[(row.division_code, row.status)] -= 1
        for alert_id, party in conn.execute(self._routes_before, {"ids": ids}):
            old = before.get(alert_id)
            if old is not None and old.status != CLOSED and party_department(party):
                by_department[(old.division_code, party_department(party))] -= 1
        for state in states:
            by_status[(state.division_code, state.status)] += 1
            if state.status != CLOSED:
                for route in state.routes:
                    if party_department(route.party):
                        by_department[(state.division_code, party_department(route.party))] += 1
        conn.execute(self._delete_routes, {"ids": ids})
        conn.execute(self._delete, {"ids": ids})
        insert_many(conn, alerts, [alert_row(s) for s in states])
        insert_many(conn, alert_routes, [{"alert_id": s.alert_id, "party": r.party, "role": r.role}
                                         for s in states for r in s.routes])
        add_counts(conn, alert_counts, ("division_code", "status"), by_status)
        add_counts(conn, alert_department_counts, ("division_code", "department"), by_department)


def alert_row(state: AlertState) -> dict:
    awaiting = state.status == OPEN and not state.top_deadline_missed
    return {
        "alert_id": state.alert_id, "kind": state.kind, "incident_key": state.incident_key,
        "open_incident_key": None if state.status == CLOSED else state.incident_key,
        "elder_id": state.elder_id, "division_code": state.division_code,
        "county_code": state.division_code[:6], "severity": state.severity, "summary": state.summary,
        "status": state.status, "level": state.level,
        "ack_deadline": _time(state.ack_deadline) if awaiting else None,
        "raised_at": _time(state.raised_at), "acknowledged_by": state.acknowledged_by,
        "acknowledged_at": _time(state.acknowledged_at), "outcome": state.outcome,
        "closed_at": _time(state.closed_at), "policy_ref": state.policy_ref, "occurrences": state.occurrences,
        "top_deadline_missed": state.top_deadline_missed, "version": state.version,
    }


class DeliveryQueue(_FoldedRows):
    name = "delivery_queue"
    handles = frozenset(cls.TYPE for cls in DELIVERY_EVENT_CLASSES)
    _delete = delete(deliveries).where(deliveries.c.delivery_id.in_(bindparam("ids", expanding=True)))

    def fold(self, stream_id, events) -> DeliveryState:
        return fold_delivery(stream_id, events)

    def tables(self):
        return [deliveries]

    def rewrite(self, conn, states) -> None:
        conn.execute(self._delete, {"ids": [s.delivery_id for s in states]})
        insert_many(conn, deliveries, [{
            "delivery_id": s.delivery_id, "alert_id": s.alert_id, "party": s.party, "status": s.status,
            "channel": s.channel.channel if s.channel else None, "attempts": s.attempts,
            "in_flight": s.in_flight, "next_attempt_at": _time(s.next_attempt_at), "last_error": s.last_error,
            "version": s.version} for s in states])


class ReferralLedger(_FoldedRows):
    name = "referral_ledger"
    handles = frozenset(cls.TYPE for cls in REFERRAL_EVENT_CLASSES)
    _delete = delete(referrals).where(referrals.c.referral_id.in_(bindparam("ids", expanding=True)))

    def fold(self, stream_id, events) -> tuple[ReferralState, object]:
        # The request text and links are not part of the decision state; keep them from creation.
        return fold_referral(stream_id, events), events[0]

    def tables(self):
        return [referrals]

    def rewrite(self, conn, states) -> None:
        conn.execute(self._delete, {"ids": [s.referral_id for s, _ in states]})
        insert_many(conn, referrals, [{
            "referral_id": s.referral_id, "alert_id": created.alert_id, "elder_id": created.elder_id,
            "division_code": s.division_code, "county_code": s.division_code[:6],
            "from_department": s.from_department, "to_department": s.to_department, "request": created.request,
            "status": s.status, "due_on": s.due_on.isoformat(), "overdue": s.overdue, "outcome": s.outcome,
            "version": s.version} for s, created in states])


class PartyDirectory:
    """Each party's contact channels, preferred first (the latest setting wins)."""

    name = "party_directory"
    handles = frozenset({PartyContactsSet.TYPE})

    def __init__(self, catalogue: EventCatalogue):
        self.catalogue = catalogue

    def tables(self):
        return [party_contacts]

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        event = event_from_envelope(envelope, self.catalogue)
        conn.execute(delete(party_contacts).where(party_contacts.c.party == event.party))
        conn.execute(party_contacts.insert().values(
            party=event.party, set_at=_time(event.set_at),
            channels=json.dumps([{"channel": c.channel, "address": c.address} for c in event.channels])))


def notifications_projections(catalogue: EventCatalogue) -> list:
    return [AlertBoard(catalogue), DeliveryQueue(catalogue), ReferralLedger(catalogue), PartyDirectory(catalogue)]
